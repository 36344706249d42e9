"""The form parser against urllib.parse.parse_qsl, on random query strings and bodies.

``parse_form`` splits undecoded text itself (a third of parse_qsl's cost) and
hands the rest to parse_qsl; either way the pairs are parse_qsl's, and a text
parse_qsl refuses (bad UTF-8 after decoding, too many fields) is a -1100.
"""

from urllib.parse import parse_qsl

from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.api.errors import ApiError
from exchange.api.params import MAX_PARAMS, parse_form

texts = st.one_of(
    st.text("ab=&", max_size=40),
    st.text("ab=&%+2F0c;é \x00", max_size=40),
    st.lists(st.tuples(st.text("xyz%+", max_size=6), st.text("019.%+C3A9", max_size=8)),
             max_size=8).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)),
    st.integers(MAX_PARAMS - 2, MAX_PARAMS + 2).map(lambda n: "&".join(["a=1"] * n)),
    st.integers(MAX_PARAMS - 2, MAX_PARAMS + 2).map(lambda n: "&".join(["a=%31"] * n)),
)


def reference(text):
    try:
        return parse_qsl(text, keep_blank_values=True, strict_parsing=False, encoding="utf-8",
                         errors="strict", max_num_fields=MAX_PARAMS)
    except (UnicodeDecodeError, ValueError):
        return "refused"


@settings(max_examples=3_000, deadline=None)
@given(text=texts)
def test_parse_form_is_parse_qsl(text):
    try:
        got = parse_form(text, "query")
    except ApiError as e:
        assert e.code == -1100
        got = "refused"
    assert got == reference(text)
