"""The shipped process definitions load: systemd units verify, gunicorn's config resolves, the env template lists
every setting, nginx's upload limit is the app's, and the alert rules name metrics the app exports."""
import os
import re
import subprocess
import sys

import yaml

from tests.deploy.conftest import DEPLOY, ROOT, need

UNITS = ["branch-study-web.service", "branch-study-scheduler.service", "branch-study-sender@.service",
         "branch-study.target", "branch-study-backup.service", "branch-study-backup.timer"]


def test_the_systemd_units_verify(tmp_path):
    analyze = need("systemd-analyze")
    # verify checks that each ExecStart program exists: point /opt/branch-study at this checkout, nothing else.
    for name in UNITS:
        with open(os.path.join(DEPLOY, "systemd", name), encoding="utf-8") as f:
            text = f.read()
        (tmp_path / name).write_text(text.replace("/opt/branch-study", ROOT))
    targets = [str(tmp_path / n) for n in UNITS if "@." not in n] + [str(tmp_path / "branch-study-sender@1.service")]
    result = subprocess.run([analyze, "verify", *targets], capture_output=True, text=True, cwd=tmp_path)
    # Unknown keys and bad values are only warnings to systemd: any output at all is a defect here.
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), result.stderr


def test_systemd_verify_does_catch_a_broken_unit(tmp_path):
    analyze = need("systemd-analyze")
    with open(os.path.join(DEPLOY, "systemd", "branch-study-web.service"), encoding="utf-8") as f:
        text = f.read().replace("/opt/branch-study", ROOT)
    broken = tmp_path / "broken.service"
    broken.write_text(text.replace("TimeoutStopSec=", "TimeoutStopSecs=").replace("bin/gunicorn", "bin/gunicorm"))
    result = subprocess.run([analyze, "verify", str(broken)], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode != 0 and "TimeoutStopSecs" in result.stderr and "gunicorm" in result.stderr


def test_the_gunicorn_config_loads_with_graceful_shutdown_and_the_request_log_format(tmp_path):
    env = {**os.environ, "INSTANCE_DIR": str(tmp_path), "GUNICORN_WORKERS": "3", "APP_ENV": "development"}
    env.pop("DATABASE_URL", None), env.pop("REDIS_URL", None)
    result = subprocess.run([sys.executable, "-m", "gunicorn", "--print-config", "-c",
                             os.path.join(DEPLOY, "gunicorn.conf.py"), "wsgi:app"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    settings = dict(re.findall(r"^(\w+)\s+= (.*)$", result.stdout, re.M))
    assert settings["workers"] == "3" and settings["bind"] == "['127.0.0.1:8000']"
    assert settings["timeout"] == "60" and settings["graceful_timeout"] == "30"
    assert "request_id=%({x-request-id}o)s" in settings["access_log_format"]


def test_nginx_refuses_exactly_what_the_app_would():
    from config import load

    with open(os.path.join(DEPLOY, "nginx", "branch-study.conf"), encoding="utf-8") as f:
        [size] = re.findall(r"client_max_body_size (\d+)m;", f.read())
    assert int(size) * 1024 * 1024 == load({"DATABASE_URL": "sqlite://"})["MAX_CONTENT_LENGTH"]


def _settings_read_by_the_app():
    names = set()
    for folder, _, files in os.walk(ROOT):
        if any(part in folder for part in (".venv", "tests", "bench", "node_modules", "miniprogram", ".git")):
            continue
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    text = f.read()
                names |= set(re.findall(r'(?:_env|_int)\("([A-Z_]+)"', text))
                names |= set(re.findall(r'environ\.get\("([A-Z_]+)"', text))
    return names


def test_the_environment_template_lists_every_setting_the_app_reads():
    with open(os.path.join(DEPLOY, "branch-study.env.example"), encoding="utf-8") as f:
        listed = set(re.findall(r"^#?([A-Z_]+)=", f.read(), re.M))
    read = _settings_read_by_the_app()
    assert {"SECRET_KEY", "PROXY_HOPS", "QUIZ_GRACE_SECONDS", "PROMETHEUS_MULTIPROC_DIR"} <= read
    assert read - listed == set(), "settings missing from deploy/branch-study.env.example"


def test_the_alert_rules_watch_metrics_the_app_exports():
    with open(os.path.join(DEPLOY, "alerts.yml"), encoding="utf-8") as f:
        rules = [rule for group in yaml.safe_load(f)["groups"] for rule in group["rules"]]
    exported = {"branch_study_outbox_rows", "branch_study_scheduler_last_success_timestamp_seconds",
                "branch_study_wechat_calls_total", "branch_study_http_request_duration_seconds_bucket"}
    named = {name for rule in rules for name in re.findall(r"branch_study_\w+", rule["expr"])}
    assert named <= exported
    assert {"BranchStudyDeadLetters", "BranchStudySchedulerStale", "BranchStudyWeChatFailing"} <= {
        rule["alert"] for rule in rules}
