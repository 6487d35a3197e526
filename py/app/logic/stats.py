"""Per-reply statistics, from the usage web-llm reports with the last chunk.

>>> from webllm_machine import Usage
>>> usage = Usage(12, 48, 60, {"prefill_tokens_per_s": 150.2, "decode_tokens_per_s": 21.7,
...                            "time_to_first_token_s": 0.42})
>>> format_stats(usage)
'12 prompt · 48 completion tokens · prefill 150 tok/s · decode 21.7 tok/s · first token 0.42 s'
>>> format_stats(None)
''
"""

from __future__ import annotations

from webllm_machine import Usage

__all__ = ["format_stats"]


def _rate(value: float) -> str:
    """A speed for people: whole above 100, one decimal above 1, two significant digits
    below (a CPU decodes ~0.09 tok/s, which is not "0.0").

    >>> [_rate(v) for v in (250.4, 21.74, 1.0, 0.0912, 0.5)]
    ['250', '21.7', '1.0', '0.091', '0.50']
    """
    if value >= 100:
        return f"{value:.0f}"
    if value >= 1:
        return f"{value:.1f}"
    return f"{value:#.2g}"


def format_stats(usage: Usage | None) -> str:
    """One line for under a reply; empty when there is no usage (a stopped stream)."""
    if usage is None:
        return ""
    parts = [f"{usage.prompt_tokens} prompt · {usage.completion_tokens} completion tokens"]
    extra = usage.extra
    if extra.get("prefill_tokens_per_s"):
        parts.append(f"prefill {_rate(extra['prefill_tokens_per_s'])} tok/s")
    if extra.get("decode_tokens_per_s"):
        parts.append(f"decode {_rate(extra['decode_tokens_per_s'])} tok/s")
    if "time_to_first_token_s" in extra:
        parts.append(f"first token {extra['time_to_first_token_s']:.2f} s")
    return " · ".join(parts)
