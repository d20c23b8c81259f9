"""`avenor run --backend gemini-acp` against the real `gemini --acp` (npm @google/gemini-cli),
pointed at the scripted model server (Gemini API) on 127.0.0.1."""

from __future__ import annotations

import peers
from avenor_cli import AvenorProcess, RunFiles, assert_log_well_formed, events_named, standard_run_args


def test_gemini_text_turn(avenor, tmp_path, model_server):
    peers.require_peer("gemini")
    server = model_server({"steps": [{"reply_chunks": ["GM-FAKE-", "REPLY-321"]}]})
    env = peers.gemini_env(tmp_path, server)
    files = RunFiles(tmp_path / "run")
    run = AvenorProcess(avenor, standard_run_args(files, "--backend", "gemini-acp", "--dir",
                                                  str(env.project), "--prompt", "Say hello.",
                                                  "--model", "ignored/by-gemini"),
                        env.env, files)
    assert run.wait(120) == 0, files.stderr_text()

    events = files.read_events()
    assert_log_well_formed(events)
    end = events_named(events, "session.end")
    assert len(end) == 1 and end[0]["stop_reason"] == "end_turn"
    assert end[0]["final_output"] == "GM-FAKE-REPLY-321"
    assert files.sentinel_lines()[0] == "DONE"
    # --model is ignored for gemini: the request went to the model of gemini's own settings
    assert all(peers.GEMINI_MODEL in r["path"] for r in server.requests(kind="main"))


def test_gemini_resume_from_a_new_process_is_refused_by_gemini(avenor, tmp_path, model_server):
    """Settles backends.md §0.6/§4 "(confirm against the real CLI)": gemini 0.61.0 answers
    `session/resume` with "Method not found", so a session of an earlier process cannot be
    resumed; avenor fails the start with gemini's words (exit 1) and the plugin no longer
    claims "resume from a new process" (docs/backends/gemini-acp.md)."""
    peers.require_peer("gemini")
    server = model_server({"steps": [{"reply": "FIRST-ANSWER"}, {"reply": "SECOND-ANSWER"}]})
    env = peers.gemini_env(tmp_path, server)

    first = RunFiles(tmp_path / "first")
    run = AvenorProcess(avenor, standard_run_args(first, "--backend", "gemini-acp", "--dir",
                                                  str(env.project), "--prompt", "Remember ALPHA."),
                        env.env, first)
    assert run.wait(120) == 0, first.stderr_text()
    session_id = events_named(first.read_events(), "session.end")[0]["session_id"]
    assert session_id

    second = RunFiles(tmp_path / "second")
    run = AvenorProcess(avenor, standard_run_args(second, "--backend", "gemini-acp", "--dir",
                                                  str(env.project), "--resume", session_id,
                                                  "--prompt", "What did I ask you to remember?"),
                        env.env, second)
    assert run.wait(120) == 1
    assert 'session/resume: "Method not found"' in second.stderr_text(), second.stderr_text()
    assert second.sentinel_lines()[0] == "FAILED"
    assert len(server.requests(kind="main")) == 1  # the second prompt never reached the model
