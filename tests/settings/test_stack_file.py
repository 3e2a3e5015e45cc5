import pytest

from routing.catalogue import load_catalogue
from settings import stack_file
from settings.parser import parse_settings, project_values
from settings.stack_file import StackFileError, load_yaml, read_stack_config
from settings.table import ConfigError


def write(tmp_path, text, name="Pulumi.t.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_1_2_keeps_off_and_yes_as_the_strings_the_cli_passes(tmp_path):
    path = write(
        tmp_path,
        "config:\n  geo-proximity:origins: [us-east-1, eu-west-1]\n  geo-proximity:failover: off\n"
        "  geo-proximity:replication: off\n  geo-proximity:replicationTimeControl: false\n"
        "  aws:region: us-east-1\n  other:flag: yes\n",
    )
    config = read_stack_config(path)
    assert config["geo-proximity:failover"] == "off"
    assert config["other:flag"] == "yes"
    assert config["geo-proximity:replicationTimeControl"] == "false"
    assert config["aws:region"] == "us-east-1"
    settings = parse_settings(project_values(config), stack="t")
    assert settings.routing.failover_mode.value == "off"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("config:\n  geo-proximity:origins: [us-east-1,\n", "Pulumi.t.yaml:3:1"),
        ("config:\n\tgeo-proximity:origins: x\n", "Pulumi.t.yaml:2:1"),
    ],
)
def test_invalid_yaml_is_one_line_naming_file_line_and_column(tmp_path, text, where):
    with pytest.raises(StackFileError) as raised:
        load_yaml(write(tmp_path, text))
    message = str(raised.value)
    assert message.startswith(where + ": ") and message.endswith("(not valid YAML)")
    assert "\n" not in message


def test_a_file_that_is_not_a_mapping_and_a_missing_file_are_reported(tmp_path):
    with pytest.raises(
        StackFileError, match=r"^Pulumi.t.yaml: the file holds a list, not a mapping of keys$"
    ):
        load_yaml(write(tmp_path, "- a\n- b\n"))
    with pytest.raises(StackFileError, match="no stack file at"):
        load_yaml(tmp_path / "Pulumi.missing.yaml")


def test_secret_values_are_refused_with_the_key(tmp_path):
    path = write(tmp_path, "config:\n  geo-proximity:tags:\n    secure: v1:abc\n")
    with pytest.raises(
        StackFileError,
        match="geo-proximity:tags is a secret, which only the Pulumi CLI can decrypt",
    ):
        read_stack_config(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # ruamel's own message said: with value "[]" (original value: "[]").
        (
            "config:\n  geo-proximity:origins: [us-east-1]\n  geo-proximity:origins: [eu-west-1]\n",
            'Pulumi.t.yaml:3:3: geo-proximity:origins is set twice, to ["us-east-1"] on line 2 '
            'and to ["eu-west-1"] on line 3; keep one',
        ),
        (
            "config:\n  geo-proximity:tags:\n    team: a\n  geo-proximity:tags:\n"
            "    team: b\n    owner: c\n",
            'Pulumi.t.yaml:4:3: geo-proximity:tags is set twice, to {"team": "a"} on line 2 and '
            'to {"team": "b", "owner": "c"} on line 4; keep one',
        ),
        # ...and "with value "False" (original value: "True")".
        (
            "config:\n  geo-proximity:monitoring: true\n  geo-proximity:monitoring: false\n",
            "Pulumi.t.yaml:3:3: geo-proximity:monitoring is set twice, to true on line 2 and to "
            "false on line 3; keep one",
        ),
        (
            "config:\n  geo-proximity:tags:\n    team: a\n    team: b\n",
            "Pulumi.t.yaml:4:5: team is set twice, to 'a' on line 3 and to 'b' on line 4; keep one",
        ),
    ],
)
def test_a_key_set_twice_is_reported_with_both_lines_and_values(tmp_path, text, message):
    with pytest.raises(StackFileError) as raised:
        load_yaml(write(tmp_path, text))
    assert str(raised.value) == message


def test_a_key_without_a_value_is_refused_with_the_key(tmp_path):
    path = write(tmp_path, "config:\n  geo-proximity:alarmEmail:\n")
    with pytest.raises(StackFileError) as raised:
        read_stack_config(path)
    # Before: 'None' is not an email address.
    assert str(raised.value) == (
        "Pulumi.t.yaml: geo-proximity:alarmEmail has no value; give it one or remove it"
    )


@pytest.mark.parametrize("name", ["../prod", "a/b", "", "prod yaml"])
def test_stack_names_are_checked_before_any_path_is_built(name):
    with pytest.raises(StackFileError) as raised:
        stack_file.stack_file_path(name)
    assert str(raised.value) == (
        f"{name!r} is not a stack name: letters, digits, '-', '_' and '.' only"
    )


def test_a_stack_name_over_100_characters_is_refused_for_its_length():
    assert stack_file.stack_file_path("s" * 100).name == f"Pulumi.{'s' * 100}.yaml"
    with pytest.raises(StackFileError) as raised:
        stack_file.stack_file_path("s" * 101)
    assert str(raised.value) == (
        "'ssssssssssssssssssss...' is 101 characters long; a stack name has at most 100"
    )


def test_shipped_stacks_are_the_tracked_files_only(tmp_path):
    personal = stack_file.PROJECT_ROOT / "Pulumi.zz-personal-untracked.yaml"
    personal.write_text("config:\n  geo-proximity:origins: [nowhere-1]\n", encoding="utf-8")
    try:
        shipped = stack_file.shipped_stacks()
    finally:
        personal.unlink()
    assert "zz-personal-untracked" not in shipped
    assert {"dev", "prod"} <= set(shipped)


def test_settings_from_a_stack_file_report_the_programs_messages(tmp_path, monkeypatch):
    monkeypatch.setattr(stack_file, "PROJECT_ROOT", tmp_path)
    write(
        tmp_path,
        "config:\n  geo-proximity:origins: [us-east-1, us-east-1]\n",
        name="Pulumi.bad.yaml",
    )
    with pytest.raises(ConfigError, match="'us-east-1' is listed twice"):
        stack_file.settings_from_stack_file("bad")


def test_a_stack_file_key_in_a_misspelt_namespace_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(stack_file, "PROJECT_ROOT", tmp_path)
    write(
        tmp_path,
        "config:\n  aws:region: us-east-1\n  geoproximity:origins: [us-east-1, eu-west-1]\n",
        name="Pulumi.typo.yaml",
    )
    with pytest.raises(ConfigError) as raised:
        stack_file.settings_from_stack_file("typo")
    # Before: geo-proximity:origins: is required.
    assert str(raised.value) == (
        "geoproximity:origins: 'geoproximity' is not this project's namespace (geo-proximity); "
        "did you mean geo-proximity:origins?"
    )


def test_a_stack_file_home_region_outside_the_catalogue_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(stack_file, "PROJECT_ROOT", tmp_path)
    write(
        tmp_path,
        "config:\n  aws:region: mars\n  geo-proximity:origins: [us-east-1]\n",
        name="Pulumi.mars.yaml",
    )
    with pytest.raises(ConfigError) as raised:
        stack_file.settings_from_stack_file("mars")
    assert str(raised.value) == (
        "aws:region: 'mars' is not a known AWS Region code; known codes: "
        + ", ".join(sorted(load_catalogue()))
    )


def test_a_key_without_a_namespace_is_the_projects_as_the_cli_reads_it(tmp_path, monkeypatch):
    # Before: ignored, so this stack routed as if failover were ranked and had no price class.
    monkeypatch.setattr(stack_file, "PROJECT_ROOT", tmp_path)
    write(
        tmp_path,
        "config:\n  origins: [us-east-1, eu-west-1]\n  failover: off\n"
        "  geo-proximity:config:priceClass: PriceClass_100\n",
        name="Pulumi.bare.yaml",
    )
    settings = stack_file.settings_from_stack_file("bare")
    assert settings.origins == ("us-east-1", "eu-west-1")
    assert settings.routing.failover_mode.value == "off"
    assert settings.price_class == "PriceClass_100"


def test_a_key_without_a_namespace_the_project_lacks_is_refused_as_its_own(tmp_path, monkeypatch):
    monkeypatch.setattr(stack_file, "PROJECT_ROOT", tmp_path)
    write(tmp_path, "config:\n  origins: [us-east-1]\n  failovr: off\n", name="Pulumi.bare.yaml")
    with pytest.raises(ConfigError) as raised:
        stack_file.settings_from_stack_file("bare")
    assert str(raised.value) == (
        "geo-proximity:failovr: is not a setting of this project; did you mean "
        "geo-proximity:failover?"
    )


def test_a_secret_no_local_tool_needs_leaves_the_tools_working(tmp_path, monkeypatch):
    # Before: "geo-proximity:alarmEmail is a secret, which only the Pulumi CLI can decrypt", from
    # every tool, for any secret anywhere in the file (aws:secretKey included).
    monkeypatch.setattr(stack_file, "PROJECT_ROOT", tmp_path)
    write(
        tmp_path,
        "config:\n  geo-proximity:origins: [us-east-1, eu-west-1]\n"
        "  geo-proximity:aliases: [cdn.example.com]\n"
        "  geo-proximity:certificateArn:\n    secure: v1:AAAA\n"
        "  geo-proximity:alarmEmail:\n    secure: v1:BBBB\n"
        "  aws:secretKey:\n    secure: v1:CCCC\n",
        name="Pulumi.s.yaml",
    )
    settings = stack_file.settings_from_stack_file("s")
    assert settings.secrets == frozenset({"certificateArn", "alarmEmail"})
    assert (settings.alarm_email, settings.aliases) == (None, ("cdn.example.com",))


def test_a_secret_the_tools_need_is_named_with_the_way_out(tmp_path, monkeypatch):
    monkeypatch.setattr(stack_file, "PROJECT_ROOT", tmp_path)
    write(
        tmp_path,
        "config:\n  geo-proximity:origins: [us-east-1, eu-west-1]\n"
        "  geo-proximity:drained:\n    secure: v1:AAAA\n",
        name="Pulumi.s.yaml",
    )
    with pytest.raises(ConfigError) as raised:
        stack_file.settings_from_stack_file("s")
    assert str(raised.value) == (
        "geo-proximity:drained: is a secret (secure:), which only the Pulumi CLI can decrypt, and "
        "the local tools need its value; store it in plain text (pulumi config set without "
        "--secret: it is no secret once deployed), or check the stack with pulumi preview instead"
    )


@pytest.mark.parametrize(
    ("own", "default", "refused"),
    [
        (48, 0, None),
        (0, 48, None),  # 48 + project + stack = 50
        (0, 49, "aws:defaultTags: with aws:defaultTags' 49 tag(s), 0 of geo-proximity:tags"),
        (40, 9, "geo-proximity:tags: with aws:defaultTags' 9 tag(s), 40 of geo-proximity:tags"),
    ],
)
def test_default_tags_count_toward_the_limit_per_resource(
    tmp_path, monkeypatch, own, default, refused
):
    # Before: 40 tags and 9 default tags passed, and 51 tags a resource went to AWS.
    monkeypatch.setattr(stack_file, "PROJECT_ROOT", tmp_path)
    tags = "".join(f"    own{n}: v\n" for n in range(own))
    defaults = "".join(f"      default{n}: v\n" for n in range(default))
    write(
        tmp_path,
        "config:\n  geo-proximity:origins: [us-east-1]\n"
        + (f"  geo-proximity:tags:\n{tags}" if own else "")
        + (f"  aws:defaultTags:\n    tags:\n{defaults}" if default else ""),
        name="Pulumi.tags.yaml",
    )
    if refused is None:
        settings = stack_file.settings_from_stack_file("tags")
        assert len(settings.tags) + len(settings.default_tags) == own + 2 + default
        return
    with pytest.raises(ConfigError) as raised:
        stack_file.settings_from_stack_file("tags")
    assert str(raised.value).startswith(refused)
    assert str(raised.value).endswith("AWS allows 50 per resource: drop 1")


def test_default_tags_of_another_shape_are_refused():
    from settings.parser import settings_from_config

    with pytest.raises(ConfigError) as raised:
        settings_from_config(
            {"geo-proximity:origins": '["us-east-1"]', "aws:defaultTags": '{"tags": ["a"]}'},
            stack="t",
        )
    assert str(raised.value) == (
        'aws:defaultTags: {"tags": ["a"]} is not a map holding a map of tags, e.g. '
        '{"tags": {"team": "cdn"}}'
    )
