"""Imports every command module so each registers its commands on the shared app."""

from agent.cli import (answer_commands, assess_commands, eval_commands, restore_commands, serve_commands,  # noqa: F401
                       train_commands, weights_commands)
