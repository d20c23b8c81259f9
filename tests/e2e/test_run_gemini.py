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
