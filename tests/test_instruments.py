"""Survey instruments: schema, loader, drop-in files and the content the issue asks for."""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import yaml

from analysis.errors import InputError
from analysis.instruments import (INSTRUMENT_DIR, Construct, Instrument, ResponseScale,
                                  build_instrument, list_instruments, load_instrument,
                                  load_schema, parse_instrument, validate_instrument_data)

FILES = sorted(p for p in INSTRUMENT_DIR.glob("*.yaml") if p.name != "schema.yaml")


def _raw(name: str) -> dict:
    return yaml.safe_load((INSTRUMENT_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_file_validates_against_the_schema(path):
    validate_instrument_data(yaml.safe_load(path.read_text(encoding="utf-8")), file=path.name)
    instrument = load_instrument(path)
    assert isinstance(instrument, Instrument)
    assert instrument.path == str(path.resolve())


def test_bundled_instruments_are_listed():
    assert {"public_servant", "citizen"} <= set(list_instruments())
    assert "schema" not in list_instruments()
    assert len(FILES) >= 2


@pytest.mark.parametrize("name", ["public_servant", "citizen"])
def test_ids_unique_and_every_construct_sourced(name):
    inst = load_instrument(name)
    ids = inst.item_ids
    assert len(ids) == len(set(ids))
    keys = [c.key for c in inst.constructs]
    assert len(keys) == len(set(keys))
    prefix = "ps_" if name == "public_servant" else "ct_"
    assert all(i.startswith(prefix) for i in ids)
    columns = inst.columns
    assert len(columns) == len(set(columns))
    for c in inst.constructs:
        assert c.topic in (1, 2, 3)
        assert c.source and any(ch.isdigit() for ch in c.source) or "seeds/" in c.source, c.key
        assert c.description, c.key
        assert c.items and all(it.text for it in c.items)
        assert all(it.construct == c.key for it in c.items)
        if c.kind == "likert":
            assert 3 <= len(c.items) <= 5, c.key
            assert (c.scale.min, c.scale.max) == (1, 5) and set(c.scale.labels) == {1, 2, 3, 4, 5}
        else:
            assert (c.scale.min, c.scale.max) == (0, 1)
    # every research topic is served by each survey except topic 2 (organisations) for citizens
    topics = {c.topic for c in inst.constructs}
    assert topics == ({1, 2, 3} if name == "public_servant" else {1, 3})
    assert sum(it.reverse for it in inst.items) >= 4


def test_public_servant_content():
    ps = load_instrument("public_servant")
    assert ps.id_column == "respondent_id"
    assert ps.group_columns == {"organisation": "org_id", "municipality": "municipality_id"}
    dims = [c.key for c in ps.readiness_dimensions]
    assert dims == ["rdy_strategy", "rdy_structure", "rdy_flexwork", "rdy_finance", "rdy_training",
                    "rdy_leadership", "rdy_regulation"]
    assert all(c.topic == 2 for c in ps.readiness_dimensions)
    assert ps.construct("dc_engagement").scale.labels[1] == "Never"
    assert {c.element for c in ps.constructs_by_family("benefits")} == {
        "data", "interaction", "tailoring", "simplification"}
    assert {c.element for c in ps.constructs_by_family("challenges")} == {
        "data", "interaction", "tailoring", "simplification"}
    assert len(ps.constructs_by_family("public_service_motivation")) == 4
    assert ps.demographic("role").type == "categorical"
    assert ps.demographic("org_type").levels[1] == "Municipal administration"
    assert ps.item("ps_rdy_struct3").reverse is True
    assert ps.construct_of("ps_eng2").key == "dc_engagement"


def test_citizen_content_and_shared_constructs():
    ct, ps = load_instrument("citizen"), load_instrument("public_servant")
    assert ct.group_columns == {"municipality": "municipality_id"}
    digital = ct.construct("past_coproduction_digital")
    offline = ct.construct("past_coproduction_offline")
    assert digital.kind == offline.kind == "binary"
    assert {it.channel for it in digital.items} == {"digital"}
    assert {it.channel for it in offline.items} == {"offline"}
    assert len(digital.items) == len(offline.items) == 4
    assert digital.scale.labels == {0: "No", 1: "Yes, in the last 12 months"}
    assert {d.id for d in ct.demographics} == {"age", "gender", "education", "income", "area"}
    assert ct.demographic("age").type == "numeric" and ct.demographic("age").levels is None
    for key in ("barrier_tech_anxiety", "barrier_privacy", "barrier_access", "perceived_benefits",
                "satisfaction_digital", "trust_government", "political_efficacy"):
        ct.construct(key)
    shared = {c.shared_key for c in ct.constructs if c.shared_key}
    assert shared == {c.shared_key for c in ps.constructs if c.shared_key} >= {
        "digital_skills", "coproduction_attitude"}
    assert ps.shared_construct("digital_skills").key == ct.shared_construct("digital_skills").key
    assert {it.element for it in ct.construct("perceived_benefits").items} == {
        "data", "interaction", "tailoring", "simplification"}


def test_helpers_and_codebook():
    ps = load_instrument("public_servant")
    assert [c.key for c in ps.constructs_by_topic(2)] == [c.key for c in ps.readiness_dimensions]
    with pytest.raises(InputError, match="no construct 'nope'"):
        ps.construct("nope")
    with pytest.raises(InputError, match="no item 'ps_zzz'"):
        ps.item("ps_zzz")
    book = ps.codebook()
    assert len(book) == len(ps.items) + len(ps.demographics)
    assert {"variable", "construct", "text", "reverse", "source", "topic"} <= set(book.columns)
    as_dict = ps.to_dict()
    assert as_dict["constructs"][0]["items"][0]["id"] == ps.items[0].id
    # frozen, hashable value objects
    assert len({ps, load_instrument("public_servant")}) == 1
    assert hash(ResponseScale(1, 5, {1: "a"})) == hash(ResponseScale(1, 5, {1: "a"}))
    with pytest.raises(dataclasses.FrozenInstanceError):
        ps.constructs[0].key = "x"  # type: ignore[misc]
    assert isinstance(ps.constructs[0], Construct)


def test_dropped_in_file_is_found(tmp_path):
    raw = _raw("citizen")
    raw["id"] = "citizen_short"
    raw["constructs"] = raw["constructs"][:2]
    (tmp_path / "my_survey.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    shutil.copy(INSTRUMENT_DIR / "schema.yaml", tmp_path / "schema.yaml")
    assert list_instruments(tmp_path) == ["citizen_short"]
    inst = load_instrument("citizen_short", directory=tmp_path)
    assert len(inst.constructs) == 2
    # by file name as well, and by path
    assert load_instrument("my_survey", directory=tmp_path).id == "citizen_short"
    assert load_instrument(tmp_path / "my_survey.yaml").id == "citizen_short"
    # an edited file is re-read (cache keyed on modification time and size)
    raw["title"] = "Edited title for the test"
    (tmp_path / "my_survey.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert load_instrument("citizen_short", directory=tmp_path).title == "Edited title for the test"


def _broken(tmp_path: Path, mutate) -> Path:
    raw = _raw("public_servant")
    mutate(raw)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("mutate, key", [
    (lambda r: r.pop("title"), "title"),
    (lambda r: r["constructs"][1].pop("source"), "constructs[1] (coproduction_attitude).source"),
    (lambda r: r["constructs"][0].__setitem__("topic", 4), "constructs[0] (digital_skills).topic"),
    (lambda r: r["constructs"][0]["items"][1].pop("text"),
     "constructs[0] (digital_skills).items[1] (ps_dsk2).text"),
    (lambda r: r["constructs"][0]["items"][0].__setitem__("reverse", "yes"),
     "constructs[0] (digital_skills).items[0] (ps_dsk1).reverse"),
    (lambda r: r["constructs"][0].__setitem__("colour", "red"), "constructs[0] (digital_skills).colour"),
    (lambda r: r["constructs"][0].__setitem__("scale", "agree7"), "constructs[0] (digital_skills).scale"),
    (lambda r: r["constructs"][1]["items"][0].__setitem__("id", "ps_dsk1"),
     "constructs[1] (coproduction_attitude).items[0] (ps_dsk1).id"),
    (lambda r: r["constructs"][2].__setitem__("key", "digital_skills"), "constructs[2] (digital_skills).key"),
    (lambda r: r["scales"]["agree5"]["labels"].__setitem__(7, "Beyond"), "scales.agree5.labels"),
    (lambda r: r["scales"]["agree5"].__setitem__("max", 1), "scales.agree5"),
    (lambda r: r["constructs"][0].__setitem__("kind", "binary"), "constructs[0] (digital_skills).scale"),
    (lambda r: r["demographics"][0].pop("levels"), "demographics[0] (role).levels"),
    (lambda r: r["demographics"][3].__setitem__("id", "org_id"), "demographics"),
    (lambda r: r.__setitem__("constructs", []), "constructs"),
    (lambda r: r["scales"]["agree5"]["labels"].__setitem__(3, False), "scales.agree5.labels.3"),
])
def test_malformed_file_names_file_and_key(tmp_path, mutate, key):
    path = _broken(tmp_path, mutate)
    with pytest.raises(InputError) as caught:
        load_instrument(path)
    assert caught.value.file == "broken.yaml"
    assert f"key '{key}" in str(caught.value), str(caught.value)
    assert "Traceback" not in str(caught.value) and "\n" not in str(caught.value)


def test_unparseable_yaml_and_unknown_names(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nconstructs: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_instrument(bad)
    assert caught.value.file == "bad.yaml" and "line" in str(caught.value)
    # a broken drop-in is still listed, so loading it can show what is wrong
    assert list_instruments(tmp_path) == ["bad"]
    with pytest.raises(InputError, match="no instrument called 'nothing_here'"):
        load_instrument("nothing_here")
    with pytest.raises(InputError, match="not found"):
        load_instrument(tmp_path / "missing.yaml")
    with pytest.raises(InputError, match="YAML mapping"):
        parse_instrument("- just\n- a list\n")
    with pytest.raises(InputError, match="not UTF-8"):
        parse_instrument(b"\xff\xfe\x00id: x")


def test_schema_is_itself_well_formed():
    schema = load_schema()
    assert schema["type"] == "object"
    assert set(schema["required"]) <= set(schema["properties"])
    for name in ("construct", "item", "scale", "demographic"):
        assert name in schema["$defs"]


def test_build_from_mapping_with_inline_scale():
    raw = {"id": "mini", "title": "Mini", "respondent": "anyone", "id_column": "rid",
           "constructs": [{"key": "k", "label": "K", "topic": 3, "source": "Someone (2020)",
                           "scale": {"min": 0, "max": 10, "labels": {0: "none", 10: "all"}},
                           "items": [{"id": "a1", "text": "A one"},
                                     {"id": "a2", "text": "A two", "reverse": True,
                                      "scale": {"min": 1, "max": 7}}]}]}
    inst = build_instrument(raw, file="mini.yaml")
    assert inst.group_columns == {} and inst.demographics == [] and inst.missing_codes == []
    assert inst.item("a1").scale == ResponseScale(0, 10, {0: "none", 10: "all"})
    assert inst.item("a2").scale.max == 7 and inst.item("a2").reverse
