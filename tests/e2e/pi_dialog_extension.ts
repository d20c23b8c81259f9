// A pi extension for avenor's e2e tests: before every tool call it opens the extension UI
// dialog named by PI_TEST_DIALOG (select | confirm | input | editor; unset = none) and blocks
// the tool unless the dialog was answered positively. Each answer pi delivered is appended as
// one JSON line to PI_TEST_DIALOG_LOG, so tests can assert what the extension received.
import { appendFileSync } from "node:fs";

export default function (pi: any) {
  pi.on("tool_call", async (event: any, ctx: any) => {
    const kind = process.env.PI_TEST_DIALOG || "";
    const log = (entry: unknown) => {
      const path = process.env.PI_TEST_DIALOG_LOG;
      if (path) appendFileSync(path, JSON.stringify(entry) + "\n");
    };
    if (kind === "select") {
      const choice = await ctx.ui.select("Allow " + event.toolName + "?", ["Allow", "Block"]);
      log({ kind, choice: choice ?? null });
      if (choice !== "Allow") return { block: true, reason: "Blocked by the select dialog" };
    } else if (kind === "confirm") {
      const ok = await ctx.ui.confirm("Run " + event.toolName + "?",
                                      "The agent wants to run: " + event.input.command);
      log({ kind, ok });
      if (!ok) return { block: true, reason: "Blocked by the confirm dialog" };
    } else if (kind === "input" || kind === "editor") {
      const value = kind === "input" ? await ctx.ui.input("Why run this?", "a reason")
                                     : await ctx.ui.editor("Edit the command", event.input.command);
      log({ kind, value: value ?? null });
      if (!value) return { block: true, reason: "No reason given" };
    }
  });
}
