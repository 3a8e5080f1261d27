"""Job folders for web requests: random ids, no client-controlled paths, bounded number of folders."""

from __future__ import annotations

from agent.web.store import JobStore


def test_jobs_get_random_ids_and_private_folders(tmp_path):
    store = JobStore(tmp_path, max_jobs=3)
    ids = []
    for _ in range(4):
        job_id, folder = store.new_job()
        ids.append(job_id)
        assert folder.parent == store.root and folder.name == job_id and folder.is_dir()
    assert len(set(ids)) == 4 and all(len(job_id) == 32 for job_id in ids)
    # The oldest folder is gone once more than max_jobs exist.
    assert not (store.root / ids[0]).exists() and (store.root / ids[3]).is_dir()
    store.close()
    assert not store.root.exists() and tmp_path.is_dir()


def test_only_registered_images_are_served(tmp_path):
    store = JobStore(tmp_path)
    job_id, folder = store.new_job()
    assert store.image(job_id) is None
    image = folder / "restored.png"
    image.write_bytes(b"png")
    store.set_image(job_id, image)
    assert store.image(job_id) == image
    for hostile in ("../" + job_id, job_id.upper(), job_id + "/../x", "..", "", "0" * 32):
        assert store.image(hostile) is None
    store.discard(job_id)
    assert store.image(job_id) is None and not folder.exists()
    store.close()
