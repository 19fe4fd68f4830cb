"""Tiny transformers configs (as AutoConfig.for_model keyword arguments) shared by the tests that
compare sow's checkpoints and sow.torch with transformers' own models."""

CONFIGS = {
    "llama": dict(model_type="llama", vocab_size=96, hidden_size=32, intermediate_size=48,
                  num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2),
    "llama-bias-tied-pad": dict(model_type="llama", vocab_size=96, hidden_size=32,
                                intermediate_size=48, num_hidden_layers=1, num_attention_heads=4,
                                attention_bias=True, mlp_bias=True, tie_word_embeddings=True,
                                pad_token_id=3, head_dim=16),
    "mistral": dict(model_type="mistral", vocab_size=96, hidden_size=32, intermediate_size=48,
                    num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1),
    "qwen2": dict(model_type="qwen2", vocab_size=96, hidden_size=32, intermediate_size=48,
                  num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                  tie_word_embeddings=True),
    "qwen3": dict(model_type="qwen3", vocab_size=96, hidden_size=32, intermediate_size=48,
                  num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=24,
                  attention_bias=True),
    "gpt2": dict(model_type="gpt2", vocab_size=96, n_positions=16, n_embd=32, n_layer=2, n_head=4),
    "gpt2-untied": dict(model_type="gpt2", vocab_size=96, n_positions=16, n_embd=32, n_layer=1,
                        n_head=4, n_inner=40, tie_word_embeddings=False),
}
