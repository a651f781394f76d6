"""Reading a server's error reply: the usual shapes, refused fields, a full context."""

import json

from core.providers.api_errors import context_full, error_details, refused_field


def test_error_details_reads_each_usual_shape():
    openai = {"error": {"message": "bad 'n'", "type": "x", "param": "n", "code": "unsupported"}}
    assert error_details(json.dumps(openai)) == ("bad 'n'", "unsupported", "n")
    anthropic = {"type": "error", "error": {"type": "invalid_request_error", "message": "no"}}
    assert error_details(json.dumps(anthropic)) == ("no", "", "")
    assert error_details(json.dumps({"detail": "Not Found"})) == ("Not Found", "", "")
    assert error_details("<html>  Bad\n Gateway </html>") == ("<html> Bad Gateway </html>", "", "")
    assert error_details(json.dumps({"error": "quota"})) == ("quota", "", "")


def test_refused_field_names_a_droppable_field_or_none():
    by_param = {
        "error": {"message": "Unsupported value", "code": "unsupported_value", "param": "n"}
    }
    assert refused_field(json.dumps(by_param), ("n", "logprobs")) == "n"
    quoted = {"error": {"message": "'logprobs' is not supported with this model"}}
    assert refused_field(json.dumps(quoted), ("n", "logprobs")) == "logprobs"
    prefill = {"error": {"message": "This model does not support assistant message prefill"}}
    assert refused_field(json.dumps(prefill), ("prefill",)) == "prefill"
    assert refused_field(json.dumps(quoted), ("n",)) is None  # not one we can do without
    assert refused_field(json.dumps({"error": {"message": "max_tokens too large"}}), ("n",)) is None


def test_context_full_from_the_code_or_the_words():
    assert context_full("", "context_length_exceeded") is True
    assert context_full("prompt is too long: 210000 tokens > 200000 maximum", "") is True
    assert context_full("rate limit", "rate_limit_exceeded") is False
