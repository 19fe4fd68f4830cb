"""Built-in architecture presets: Hugging Face ``config.json`` contents, by name.

The real ones copy the published configs' shape fields (and the fields a loader needs: RoPE,
norm epsilon, token ids); the ``*-tiny`` ones are for tests, examples and a first try (seconds).
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["PRESETS", "preset"]


def _llama3(**kw: Any) -> dict[str, Any]:
    base = dict(model_type="llama", vocab_size=128256, hidden_act="silu", rms_norm_eps=1e-5,
                initializer_range=0.02, bos_token_id=128000, eos_token_id=128001,
                rope_theta=500000.0, attention_bias=False, mlp_bias=False)
    base.update(kw)
    return base


PRESETS: Final[dict[str, dict[str, Any]]] = {
    "llama-tiny": dict(model_type="llama", vocab_size=1024, hidden_size=64, intermediate_size=176,
                       num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                       max_position_embeddings=256, rms_norm_eps=1e-6, initializer_range=0.02,
                       tie_word_embeddings=False, bos_token_id=1, eos_token_id=2),
    "qwen3-tiny": dict(model_type="qwen3", vocab_size=1024, hidden_size=64, intermediate_size=176,
                       num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                       head_dim=32, max_position_embeddings=256, rms_norm_eps=1e-6,
                       initializer_range=0.02, tie_word_embeddings=True, bos_token_id=1,
                       eos_token_id=2),
    "gpt2-tiny": dict(model_type="gpt2", vocab_size=1024, n_positions=128, n_embd=64, n_layer=2,
                      n_head=4, initializer_range=0.02, layer_norm_epsilon=1e-5,
                      bos_token_id=0, eos_token_id=0, tie_word_embeddings=True),
    "llama2-7b": dict(model_type="llama", vocab_size=32000, hidden_size=4096,
                      intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
                      num_key_value_heads=32, max_position_embeddings=4096, rms_norm_eps=1e-5,
                      initializer_range=0.02, bos_token_id=1, eos_token_id=2,
                      tie_word_embeddings=False),
    "llama3-8b": _llama3(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                         num_attention_heads=32, num_key_value_heads=8,
                         max_position_embeddings=8192, tie_word_embeddings=False),
    "llama3.2-1b": _llama3(hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                           num_attention_heads=32, num_key_value_heads=8, head_dim=64,
                           max_position_embeddings=131072, tie_word_embeddings=True,
                           rope_scaling={"factor": 32.0, "low_freq_factor": 1.0,
                                         "high_freq_factor": 4.0,
                                         "original_max_position_embeddings": 8192,
                                         "rope_type": "llama3"}),
    "llama3.2-3b": _llama3(hidden_size=3072, intermediate_size=8192, num_hidden_layers=28,
                           num_attention_heads=24, num_key_value_heads=8, head_dim=128,
                           max_position_embeddings=131072, tie_word_embeddings=True,
                           rope_scaling={"factor": 32.0, "low_freq_factor": 1.0,
                                         "high_freq_factor": 4.0,
                                         "original_max_position_embeddings": 8192,
                                         "rope_type": "llama3"}),
    "mistral-7b": dict(model_type="mistral", vocab_size=32000, hidden_size=4096,
                       intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                       num_key_value_heads=8, max_position_embeddings=32768, rms_norm_eps=1e-5,
                       rope_theta=10000.0, sliding_window=4096, initializer_range=0.02,
                       bos_token_id=1, eos_token_id=2, tie_word_embeddings=False),
    "qwen2.5-0.5b": dict(model_type="qwen2", vocab_size=151936, hidden_size=896,
                         intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                         num_key_value_heads=2, max_position_embeddings=32768,
                         rms_norm_eps=1e-6, rope_theta=1000000.0, initializer_range=0.02,
                         bos_token_id=151643, eos_token_id=151643, tie_word_embeddings=True,
                         use_sliding_window=False, max_window_layers=24),
    "qwen2.5-1.5b": dict(model_type="qwen2", vocab_size=151936, hidden_size=1536,
                         intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                         num_key_value_heads=2, max_position_embeddings=131072,
                         rms_norm_eps=1e-6, rope_theta=1000000.0, initializer_range=0.02,
                         bos_token_id=151643, eos_token_id=151643, tie_word_embeddings=True,
                         use_sliding_window=False, max_window_layers=28),
    "qwen3-0.6b": dict(model_type="qwen3", vocab_size=151936, hidden_size=1024,
                       intermediate_size=3072, num_hidden_layers=28, num_attention_heads=16,
                       num_key_value_heads=8, head_dim=128, max_position_embeddings=40960,
                       rms_norm_eps=1e-6, rope_theta=1000000.0, initializer_range=0.02,
                       bos_token_id=151643, eos_token_id=151645, tie_word_embeddings=True,
                       attention_bias=False),
    "gpt2": dict(model_type="gpt2", vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12,
                 n_head=12, initializer_range=0.02, layer_norm_epsilon=1e-5,
                 bos_token_id=50256, eos_token_id=50256, tie_word_embeddings=True),
    "gpt2-medium": dict(model_type="gpt2", vocab_size=50257, n_positions=1024, n_embd=1024,
                        n_layer=24, n_head=16, initializer_range=0.02, layer_norm_epsilon=1e-5,
                        bos_token_id=50256, eos_token_id=50256, tie_word_embeddings=True),
}


def preset(name: str) -> dict[str, Any]:
    """A copy of preset ``name``'s config (ValueError listing the presets)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r} (presets: {', '.join(PRESETS)}; or pass a "
                         f"config.json path)")
    import copy

    return copy.deepcopy(PRESETS[name])
