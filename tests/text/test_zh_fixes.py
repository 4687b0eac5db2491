"""Chinese prose: the misses and over-reads measured on text nobody here wrote, each as
a made-up sentence of the same shape."""

from __future__ import annotations

from deid.text.ner import whole_name
from deid.text.recognize import find


def names(text: str) -> set[str]:
    return {text[s.start : s.end] for s in find(text) if s.category == "name"}


def test_surname_fu_is_known():
    assert names("患者付晓东入院，诉头痛") == {"付晓东"}


def test_given_names_with_su_and_xin_pass_the_clinical_guard():
    assert names("患者陈素珊，女，45岁") == {"陈素珊"}
    assert names("母亲魏兰心陪同") == {"魏兰心"}
    assert not names("予维生素C口服，心悸好转")


def test_model_name_cut_before_nian_is_made_whole():
    text = "赵丽华年龄35岁"
    assert whole_name(text, 0, 2) == 3  # the model's 赵丽 + 华年 becomes 赵丽华
    assert whole_name("王芳年龄30岁", 0, 2) == 2  # a two-character name stays two


def test_transliterated_and_latin_names_in_chinese_text():
    assert names("陶德·马丁先生来诊，主诉胸痛") == {"陶德·马丁"}
    assert names("患者John Smith入院，既往体健") == {"John Smith"}


def test_function_characters_and_specialties_are_not_names():
    assert names("患者由张三陪同就诊") == {"张三"}
    assert names("交由李医生处理，经王医师会诊") == set()
    assert names("麻醉医师签字，康复医生随访") == set()


def test_university_professor_is_not_a_school_but_a_university_is():
    found = {
        find_text: c
        for find_text, c in (
            (t[s.start : s.end], s.category) for t in ["退休大学教授，就读于北京大学"] for s in find(t)
        )
    }
    assert found == {"北京大学": "school"}


def test_street_address_keeps_its_house_number_in_the_span():
    text = "家在北京市朝阳区南湖街道办事处88号，后迁至南湖街12号3栋"
    spans = {text[s.start : s.end] for s in find(text) if s.category == "address"}
    assert "北京市朝阳区南湖街道办事处88号" in spans and "南湖街12号3栋" in spans


def test_a_name_found_once_is_found_everywhere_in_the_note():
    text = "患者王小明入院。次日王小明诉腹痛"
    assert [text[s.start : s.end] for s in find(text) if s.category == "name"] == ["王小明", "王小明"]
