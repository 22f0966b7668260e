import pytest

from shared.validation import check_phone, no_control, single_line


@pytest.mark.parametrize("value", ["a\x00b", "\x1b[31m", "x\x7f", "half\ud800"])
def test_control_characters_and_lone_surrogates_are_refused(value):
    with pytest.raises(ValueError):
        no_control(value)


def test_free_text_keeps_line_breaks_but_single_lines_do_not():
    assert no_control("第一行\n第二行\t") == "第一行\n第二行\t"
    with pytest.raises(ValueError):
        single_line("a\nb")
    assert single_line("<script>alert(1)</script>' OR 1=1 --") == "<script>alert(1)</script>' OR 1=1 --"


@pytest.mark.parametrize("phone", ["13800138000", "+8613800138000", "0750-3123456", "075012345678", "020-88886666-123"])
def test_phones(phone):
    assert check_phone(phone) == phone


@pytest.mark.parametrize("phone", ["12345", "11800138000", "abc", "750-3123456"])
def test_bad_phones(phone):
    with pytest.raises(ValueError):
        check_phone(phone)


def test_the_format_class_is_exactly_unicode_category_cf():
    """normalise removes format characters with one regex: it must be exactly category Cf."""
    import sys
    import unicodedata

    from shared.validation import _FORMAT

    for code in range(sys.maxunicode + 1):
        char = chr(code)
        assert (_FORMAT.fullmatch(char) is not None) == (unicodedata.category(char) == "Cf"), hex(code)


def test_normalise_is_nfkc_without_format_characters():
    import unicodedata

    from shared.validation import normalise

    for value in ["ＪＭ－２０２６", "江门\u200b市", "a\u00adb\ufeff", "plain ascii", "ﬁ\u202e１", ""]:
        expected = unicodedata.normalize("NFKC", "".join(c for c in value if unicodedata.category(c) != "Cf"))
        assert normalise(value) == expected
