"""Reading a server's error reply in its usual shapes."""

import json

from core.providers.api_errors import error_details


def test_error_details_reads_each_usual_shape():
    openai = {"error": {"message": "bad 'n'", "type": "x", "param": "n", "code": "unsupported"}}
    assert error_details(json.dumps(openai)) == ("bad 'n'", "unsupported", "n")
    anthropic = {"type": "error", "error": {"type": "invalid_request_error", "message": "no"}}
    assert error_details(json.dumps(anthropic)) == ("no", "", "")
    assert error_details(json.dumps({"detail": "Not Found"})) == ("Not Found", "", "")
    assert error_details("<html>  Bad\n Gateway </html>") == ("<html> Bad Gateway </html>", "", "")
    assert error_details(json.dumps({"error": "quota"})) == ("quota", "", "")
