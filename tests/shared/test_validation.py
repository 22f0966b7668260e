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
