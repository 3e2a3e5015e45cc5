import pytest

from settings import ConfigError, parse_settings
from tools import stack_file
from tools.stack_file import StackFileError, load_yaml, project_values, read_stack_config


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
        ("config:\n  a: 1\n  a: 2\n", "Pulumi.t.yaml:3:3"),
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


@pytest.mark.parametrize("name", ["../prod", "a/b", "", "prod yaml"])
def test_stack_names_are_checked_before_any_path_is_built(name):
    with pytest.raises(StackFileError, match="is not a stack name"):
        stack_file.stack_file_path(name)


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
