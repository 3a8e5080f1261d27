"""The language-model agent: prompts, tools, structured drafts and grounding enforcement for the LLM backends."""
