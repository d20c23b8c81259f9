"""Permission policies and permission timeouts of `avenor run` (issue 13, new): the policy
answers first (resolver "policy", response source "policy" with the rule), `ask` and requests
it cannot answer go down the usual chain, the shorthands --approve-reads / --deny-all, every
validation error at start, and --permission-timeout with its reject and cancel actions against
each resolver. The scripted fake ACP agent (tests/fakes) asks the permissions.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from avenor_cli import events_named
from fake_run import RUN_ID, SESSION

OPTIONS = [{"optionId": "nope", "name": "No", "kind": "reject_once"},
           {"optionId": "yes-once", "name": "Once", "kind": "allow_once"},
           {"optionId": "yes-always", "name": "Always", "kind": "allow_always"}]


def ask(kind: str, title: str, command=None, options=None, call_id: str = "c1",
        **extra) -> list[dict]:
    """A tool call that asks one permission, then says ALLOWED-<id> or REJECTED-<id>."""
    call = {"toolCallId": call_id, "title": title, "kind": kind}
    if command is not None:
        call["rawInput"] = {"command": command}
    return [
        {"tool_call": {**call, "status": "pending"}},
        {"permission": {"toolCall": call, "options": options or OPTIONS, **extra},
         "on_allow": [{"chunk": f"ALLOWED-{call_id} "}],
         "on_reject": [{"chunk": f"REJECTED-{call_id} "}]},
    ]


def script(*asks: list[dict], **top) -> dict:
    return {**top, "turns": [[step for a in asks for step in a]]}


def no_sentinel(f, *extra: str) -> list[str]:
    """Run args without a sentinel, so no file handler is derived (resolver none)."""
    return ["run", "--on-event", str(f.files.events), "--run-id", RUN_ID, *extra]


def responses(f) -> list[dict]:
    return events_named(f.events(), "permission.response")


def strip(resp: dict) -> tuple:
    return (resp["request_id"], resp["option_id"], resp["kind"], resp["source"], resp.get("rule"))


# ---------------------------------------------------------------------------------------------
# Policy decisions
# ---------------------------------------------------------------------------------------------

def test_allow_by_tool_kind(fake):
    f = fake(script(ask("read", "cat README.md")))
    policy = json.dumps({"rules": [{"tool_kind": "read", "action": "allow"}]})
    assert f.run("--prompt", "p", "--permission-policy", policy) == 0, f.stderr()
    events = f.events()
    req = events_named(events, "permission.request")
    assert [r["resolver"] for r in req] == ["policy"]
    assert [strip(r) for r in responses(f)] == [("0", "yes-once", "allow", "policy", "rules[0]")]
    assert f.responses_to(0)[0]["result"]["outcome"] == {"outcome": "selected",
                                                         "optionId": "yes-once"}
    assert events_named(events, "session.end")[0]["final_output"] == "ALLOWED-c1 "
    # answered by the policy: the derived file handler never wrote a request file
    assert not (f.files.root / "run.perm.req").exists()
    assert f.stderr() == ""


def test_reject_by_command_glob_and_option_kind(fake):
    f = fake(script(ask("execute", "Remove build", command=["rm", "-rf", "build"]),
                    ask("execute", "git status", command="git status --short", call_id="c2")))
    policy = {"rules": [{"command": "rm -rf*", "action": "reject"},
                        {"command": "git status*", "option_kind": "allow_always",
                         "action": "allow"}]}
    assert f.run("--prompt", "p", "--permission-policy", json.dumps(policy)) == 0, f.stderr()
    assert [strip(r) for r in responses(f)] == [
        ("0", "nope", "reject", "policy", "rules[0]"),
        ("1", "yes-always", "allow", "policy", "rules[1]")]
    assert events_named(f.events(), "session.end")[0]["final_output"] == \
        "REJECTED-c1 ALLOWED-c2 "


def test_policy_file_and_default(fake, tmp_path):
    f = fake(script(ask("fetch", "curl example.org")))
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"rules": [{"tool_kind": "read", "action": "allow"}],
                                "default": "reject"}))
    assert f.run("--prompt", "p", "--permission-policy", str(path)) == 0, f.stderr()
    assert [strip(r) for r in responses(f)] == [("0", "nope", "reject", "policy", "default")]


def test_ask_falls_through_to_the_file_handler(fake, avenor):
    f = fake(script(ask("execute", "make", command="make")))
    policy = {"rules": [{"tool_kind": "read", "action": "allow"},
                        {"tool_kind": "execute", "action": "ask"}], "default": "reject"}
    run = f.start("--prompt", "p", "--permission-policy", json.dumps(policy))
    run.wait_for_file(f.files.root / "run.perm.req", timeout=20)
    answer = subprocess.run([avenor, "answer", str(f.files.perm_base), "--option", "yes-once"],
                            capture_output=True, text=True, timeout=20)
    assert answer.returncode == 0, answer.stderr
    assert run.wait(20) == 0, f.stderr()
    assert [r["resolver"] for r in events_named(f.events(), "permission.request")] == ["file"]
    assert [strip(r) for r in responses(f)] == [("0", "yes-once", "allow", "file", None)]


def test_no_option_of_the_needed_kind_falls_to_ask(fake):
    """--deny-all on a request offering only allow options: the usual chain takes it (here the
    file handler derived from the sentinel), until the run's own --timeout."""
    f = fake(script(ask("execute", "ls", options=[{"optionId": "go", "kind": "allow_once"}])))
    assert f.run("--prompt", "p", "--deny-all", "--timeout", "1500ms") == 124, f.stderr()
    req = events_named(f.events(), "permission.request")
    assert [r["resolver"] for r in req] == ["file"], req
    assert responses(f) == []


def test_policy_first_then_auto_approve(fake):
    f = fake(script(ask("execute", "rm -rf /", command="rm -rf /"),
                    ask("edit", "write a.txt", call_id="c2")))
    policy = {"rules": [{"title": "*rm -rf*", "action": "reject"}]}
    assert f.run("--prompt", "p", "--auto-approve", "--permission-policy",
                 json.dumps(policy)) == 0, f.stderr()
    req = events_named(f.events(), "permission.request")
    assert [r["resolver"] for r in req] == ["policy", "automatic"]
    assert [strip(r) for r in responses(f)] == [("0", "nope", "reject", "policy", "rules[0]"),
                                                ("1", "yes-once", "allow", "avenor", None)]


def test_approve_reads_and_deny_all(fake):
    f = fake(script(ask("read", "cat a"), ask("search", "grep x", call_id="c2"),
                    ask("execute", "ls", command="ls", call_id="c3")))
    assert f.run("--prompt", "p", "--approve-reads", "--deny-all") == 0, f.stderr()
    assert [strip(r) for r in responses(f)] == [
        ("0", "yes-once", "allow", "policy", "approve_reads"),
        ("1", "yes-once", "allow", "policy", "approve_reads"),
        ("2", "nope", "reject", "policy", "deny_all")]
    assert events_named(f.events(), "session.end")[0]["final_output"] == \
        "ALLOWED-c1 ALLOWED-c2 REJECTED-c3 "


def test_deny_all_never_answers_a_request_for_user_input(fake):
    f = fake(script(ask("other", "Your name?", requires_user_input=True)))
    assert f.run(*no_sentinel(f, "--prompt", "p", "--deny-all", "--timeout", "1500ms"),
                 standard=False) == 124
    req = events_named(f.events(), "permission.request")
    assert [r["resolver"] for r in req] == ["none"]
    assert responses(f) == []


# ---------------------------------------------------------------------------------------------
# Validation at start (exit 1, one stderr line, FAILED sentinel, nothing started)
# ---------------------------------------------------------------------------------------------

def failed_at_start(f, *args: str) -> str:
    assert f.run("--prompt", "p", *args) == 1
    assert f.files.sentinel_lines()[0] == "FAILED", f.files.sentinel_lines()
    assert f.methods() == [], "the agent was started despite a bad flag"
    lines = f.stderr().splitlines()
    assert len(lines) == 1, f.stderr()
    return lines[0]


@pytest.mark.parametrize("policy,message", [
    ({"rules": [{"action": "allow"}, {"action": "ask"}, {"action": "maybe"}]},
     'rules[2].action: "maybe" is not one of allow, reject, ask'),
    ({"rules": [{"tool_kind": "shell", "action": "allow"}]},
     'rules[0].tool_kind: "shell" is not one of read, edit, delete, move, search, execute, '
     'think, fetch, switch_mode, other'),
    ({"rules": [{"command": ["ls"], "action": "allow"}]},
     'rules[0].command: ["ls"] is not a string (a glob with * and ?)'),
    ({"rules": [{"tool": "bash", "action": "allow"}]},
     'rules[0]: unknown key "tool" (known: tool_kind, title, command, option_kind, action)'),
    ({"default": "deny"}, 'default: "deny" is not one of allow, reject, ask'),
    ({"rules": [{"option_kind": "allow_once", "action": "reject"}]},
     'rules[0].option_kind: "allow_once" cannot be chosen by action reject'),
])
def test_bad_inline_policy(fake, policy, message):
    f = fake(script(ask("read", "x")))
    assert failed_at_start(f, "--permission-policy", json.dumps(policy)) == \
        f"avenor: --permission-policy: {message}"


def test_bad_policy_file_names_the_file(fake, tmp_path):
    f = fake(script(ask("read", "x")))
    path = tmp_path / "p.json"
    path.write_text('{"rules": [{"action": "allow"},]}')
    assert failed_at_start(f, "--permission-policy", str(path)) == \
        f"avenor: --permission-policy: {path}: invalid JSON at byte 31: syntax error"
    missing = tmp_path / "missing.json"
    assert failed_at_start(f, "--permission-policy", str(missing)) == \
        f"avenor: --permission-policy: open {missing}: No such file or directory"
    deep = tmp_path / "deep.json"
    deep.write_text('{"rules": [' + "[" * 20 + "]" * 20 + "]}")
    assert failed_at_start(f, "--permission-policy", str(deep)).startswith(
        f"avenor: --permission-policy: {deep}: invalid JSON at byte ")
    big = tmp_path / "big.json"
    big.write_text(" " * (1024 * 1024 + 1))
    assert failed_at_start(f, "--permission-policy", str(big)) == \
        f"avenor: --permission-policy: {big} is larger than 1048576 bytes"


def test_fifo_policy_is_refused_without_blocking(fake, tmp_path):
    f = fake(script(ask("read", "x")))
    fifo = tmp_path / "policy.fifo"
    os.mkfifo(fifo)
    started = time.monotonic()
    assert failed_at_start(f, "--permission-policy", str(fifo)) == \
        f"avenor: --permission-policy: {fifo} is not a regular file"
    assert time.monotonic() - started < 20
    assert failed_at_start(f, "--permission-policy", str(tmp_path)) == \
        f"avenor: --permission-policy: {tmp_path} is not a regular file"


def test_flag_combinations(fake):
    f = fake(script(ask("read", "x")))
    assert failed_at_start(f, "--deny-all", "--auto-approve") == \
        "avenor: --deny-all and --auto-approve are mutually exclusive"
    assert failed_at_start(f, "--permission-timeout", "5s",
                           "--permission-timeout-action", "ignore") == \
        'avenor: --permission-timeout-action: "ignore" is not one of reject, cancel'
    assert failed_at_start(f, "--permission-timeout", "-1s") == \
        "avenor: --permission-timeout: -1s is negative (0 turns the timeout off)"


# ---------------------------------------------------------------------------------------------
# --permission-timeout
# ---------------------------------------------------------------------------------------------

def test_timeout_rejects_an_unanswered_request(fake):
    f = fake(script(ask("execute", "ls", command="ls")))
    started = time.monotonic()
    assert f.run(*no_sentinel(f, "--prompt", "p", "--permission-timeout", "1s"),
                 standard=False) == 0, f.stderr()
    assert time.monotonic() - started >= 0.9
    events = f.events()
    assert [r["resolver"] for r in events_named(events, "permission.request")] == ["none"]
    assert [strip(r) for r in responses(f)] == [("0", "nope", "reject", "timeout", None)]
    assert f.responses_to(0)[0]["result"]["outcome"] == {"outcome": "selected",
                                                         "optionId": "nope"}
    assert events_named(events, "session.end")[0]["final_output"] == "REJECTED-c1 "
    assert f.stderr() == \
        'avenor: permission request 0 unanswered after 1s; rejected with option "nope"\n'


def test_timeout_abandons_the_file_handler(fake, avenor):
    f = fake(script(ask("execute", "ls", command="ls")))
    run = f.start("--prompt", "p", "--permission-timeout", "1500ms")
    req_file = f.files.root / "run.perm.req"
    run.wait_for_file(req_file, timeout=20)
    assert run.wait(20) == 0, f.stderr()
    assert [strip(r) for r in responses(f)] == [("0", "nope", "reject", "timeout", None)]
    # The handler stopped waiting: its request file is gone, a late answer finds nothing.
    assert not req_file.exists()
    late = subprocess.run([avenor, "answer", str(f.files.perm_base), "--option", "yes-once"],
                          capture_output=True, text=True, timeout=20)
    assert late.returncode == 2 and "does not exist" in late.stderr, late
    assert not (f.files.root / "run.perm.req.response").exists()
    assert f.files.sentinel_lines()[0] == "DONE"


def test_answer_and_timeout_have_one_winner(fake, avenor):
    """An answer and the timeout both arrive: exactly one response reaches the log and the
    agent. The turn goes on past the timeout, so a stale timer would show as a second one."""
    f = fake(script(ask("execute", "ls", command="ls"), [{"sleep_ms": 2500}]))
    run = f.start("--prompt", "p", "--permission-timeout", "2s")
    run.wait_for_file(f.files.root / "run.perm.req", timeout=20)
    answer = subprocess.run([avenor, "answer", str(f.files.perm_base), "--option", "yes-once"],
                            capture_output=True, text=True, timeout=20)
    assert answer.returncode in (0, 2), answer.stderr  # 2: the timeout won and removed the .req
    assert run.wait(20) == 0, f.stderr()
    got = responses(f)
    assert len(got) == 1, got
    assert got[0]["source"] == ("timeout" if answer.returncode == 2 else got[0]["source"])
    assert got[0]["source"] in ("file", "timeout")
    assert len(f.responses_to(0)) == 1


def test_timeout_cancel_ends_the_run(fake):
    f = fake(script(ask("execute", "ls", command="ls")))
    assert f.run("--prompt", "p", "--permission-timeout", "1s",
                 "--permission-timeout-action", "cancel") == 130, f.stderr()
    events = f.events()
    resp = responses(f)
    assert len(resp) == 1
    assert (resp[0]["source"], resp[0]["outcome"], resp[0]["option_id"], resp[0]["kind"]) == \
        ("timeout", "cancelled", "", "unknown")
    assert [e["stop_reason"] for e in events_named(events, "session.end")] == ["cancelled"]
    assert events.index(resp[0]) < events.index(events_named(events, "session.end")[0])
    assert f.files.sentinel_lines() == ["KILLED", f"SESSION={SESSION}", "STOP_REASON=cancelled",
                                        "EXIT_CODE=130", f"RUN={RUN_ID}"]
    outcome = [m.get("result", {}).get("outcome") for m in f.responses_to(0)]
    assert outcome == [{"outcome": "cancelled"}], f.responses_to(0)
    # (the file handler's own line about the pending request comes first)
    assert f.stderr().endswith(
        "avenor: permission request 0 unanswered after 1s; cancelling the run\n"), f.stderr()
    assert not (f.files.root / "run.perm.req").exists()


def test_timeout_without_a_reject_option_fails_the_run(fake):
    f = fake(script(ask("execute", "ls", options=[{"optionId": "go", "kind": "allow_once"}])))
    assert f.run(*no_sentinel(f, "--prompt", "p", "--permission-timeout", "1s"),
                 standard=False) == 1
    message = "permission request 0 unanswered after 1s and it offers no reject option"
    errors = events_named(f.events(), "avenor.error")
    assert {"source": "permission", "message": message}.items() <= errors[0].items(), errors
    assert responses(f) == []
    assert f"avenor: {message}\n" in f.stderr()


def test_timeout_ends_a_control_claim(fake, tmp_path):
    """A connected control client holds the claim (resolver reserved, claim timeout 0 = no
    limit); the permission timeout still answers, and a later control answer changes nothing."""
    from control_rpc import ControlClient, wait_for_socket

    sock = tmp_path / "ctl.sock"
    f = fake({"turns": [[{"chunk": "working"}, {"sleep_ms": 60000}],
                        ask("execute", "ls", command="ls") + [{"sleep_ms": 60000}]]})
    run = f.start("--prompt", "first", "--control-socket", str(sock),
                  "--permission-timeout", "1s")
    wait_for_socket(sock, run.proc)
    with ControlClient(sock) as c:
        c.call_ok("identity")
        run.wait_for_event(lambda e: e.get("event") == "agent.message_chunk")
        c.call_ok("interrupt_and_prompt", {"text": "second", "keep_queue": False})
        run.wait_for_event(lambda e: e.get("event") == "permission.response")
        req = events_named(f.events(), "permission.request")
        assert [r["resolver"] for r in req] == ["reserved"]
        # Already resolved (control.md §6.2): accepted, and nothing more happens.
        assert c.call_ok("answer_permission", {"request_id": "0", "option_id": "yes-once"}) == \
            {"accepted": True}
        c.call_ok("cancel")
    assert run.wait(20) == 130, f.stderr()
    assert [strip(r) for r in responses(f)] == [("0", "nope", "reject", "timeout", None)]
    assert len(f.responses_to(0)) == 1
