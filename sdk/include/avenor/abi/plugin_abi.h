/*
 * avenor plugin ABI, version 1.2.
 *
 * The only boundary between the avenor host and a backend plugin. It is plain C
 * so a plugin built by another compiler or standard library still loads: only
 * C types and length-delimited UTF-8 (usually JSON) cross it, never STL types.
 *
 * Rules of the boundary:
 *  - The plugin exports one symbol, AVENOR_PLUGIN_ENTRY_SYMBOL, returning a
 *    descriptor whose first field is the ABI major version. The host reads that
 *    field before anything else and refuses a plugin of another major version.
 *  - Minor versions only append: new fields go at the end of a table, and every
 *    table carries its own size so either side can tell what the other knows.
 *  - Plugins do no I/O: the host owns processes, pipes, sockets, timers and
 *    threads. A plugin says what to launch, turns the backend's bytes into
 *    normalized events and the host's commands into bytes.
 *  - Everything runs on the host's single event-loop thread. Host services never
 *    call back into the plugin from inside a plugin call (the host queues the
 *    effect), so plugins need no locks and see no re-entrancy.
 *  - Strings passed to a function are only valid for the duration of the call.
 */
#ifndef AVENOR_ABI_PLUGIN_ABI_H
#define AVENOR_ABI_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AVENOR_ABI_MAJOR 1u
#define AVENOR_ABI_MINOR 2u

/* A plugin's launch spec with an empty argv asks for no process: backends that
 * only use host services (HTTP, for example) need none. (Since 1.1.) */

/* The name of the one symbol a plugin exports (an avenor_plugin_entry_fn). */
#define AVENOR_PLUGIN_ENTRY_SYMBOL "avenor_plugin_entry"

/* A length-delimited UTF-8 string; not NUL-terminated. */
typedef struct avenor_str {
  const char* data;
  size_t size;
} avenor_str;

/* Where a callee writes a string result (or an error message). */
typedef struct avenor_sink {
  void* ctx;
  void (*put)(void* ctx, avenor_str text);
} avenor_sink;

/* Backend capabilities (backends.md §0.6). */
enum avenor_capability {
  AVENOR_CAP_RESUME = 1u << 0,             /* session/resume within one process */
  AVENOR_CAP_RESUME_NEW_PROCESS = 1u << 1, /* resume a session from a new process */
  AVENOR_CAP_EXTERNAL_URL = 1u << 2,       /* requires --server-url */
  AVENOR_CAP_THINKING = 1u << 3,           /* accepts --thinking on new sessions */
  AVENOR_CAP_THINKING_ON_RESUME = 1u << 4, /* re-applies --thinking on resume */
  AVENOR_CAP_PERMISSIONS = 1u << 5,        /* relays permission requests */
  AVENOR_CAP_MODEL_SELECTION = 1u << 6,    /* honours --model */
  AVENOR_CAP_SUBPROCESS_DISCOVERY = 1u << 7
};

/* The --thinking vocabulary as bits, for avenor_backend_info.thinking_levels. */
enum avenor_thinking_level {
  AVENOR_THINKING_OFF = 1u << 0,
  AVENOR_THINKING_MINIMAL = 1u << 1,
  AVENOR_THINKING_LOW = 1u << 2,
  AVENOR_THINKING_MEDIUM = 1u << 3,
  AVENOR_THINKING_HIGH = 1u << 4,
  AVENOR_THINKING_XHIGH = 1u << 5,
  AVENOR_THINKING_MAX = 1u << 6
};

/* How an asynchronous operation failed. */
enum avenor_failure {
  AVENOR_FAILURE_ERROR = 1,    /* the operation failed */
  AVENOR_FAILURE_CANCELLED = 2 /* the operation was cancelled */
};

enum avenor_log_level {
  AVENOR_LOG_DEBUG = 0,
  AVENOR_LOG_INFO = 1,
  AVENOR_LOG_WARN = 2,
  AVENOR_LOG_ERROR = 3
};

/* One backend (a --backend name) that a plugin provides. */
typedef struct avenor_backend_info {
  uint32_t struct_size;
  const char* name;         /* the --backend value */
  const char* cli;          /* executable looked up on PATH, or NULL for none */
  uint32_t capabilities;    /* avenor_capability bits */
  uint32_t thinking_levels; /* accepted --thinking values (avenor_thinking_level bits) */
  /* Extra `avenor doctor` checks as a JSON array, or NULL. Each entry is
   * {"what": "...", "argv": [...], "expect_substring": "..."}. */
  const char* doctor_checks_json;
} avenor_backend_info;

/*
 * One normalized event, serialised by the plugin (since 1.2). The host logs
 * `json` as it is with its envelope appended, so it never parses the common
 * events again. The plugin promises (the SDK's avenor::sdk::EventText keeps
 * these promises):
 *  - `json` is one compact JSON object in valid UTF-8, with no raw control
 *    characters (so no newline), and every key at most once;
 *  - it has none of the envelope keys ts, seq, run_id, run_label, runtime_id
 *    (they are the host's) and no empty "session_id";
 *  - `event` and `session_id` are the values of those members ("" if absent);
 *  - `text` is what the host takes as a chunk's text: content.text when it is
 *    a non-empty string, else delta when it is a string, else "";
 *  - AVENOR_EVENT_USAGE is set exactly when the object has a "usage" object.
 * The host checks what it cheaply can (the braces, UTF-8, no control
 * characters) and parses and re-encodes an event that fails. It appends its
 * envelope after the plugin's members, so even a broken promise cannot make
 * a reader (the last of duplicate keys wins) see another envelope.
 */
enum avenor_event_flag {
  AVENOR_EVENT_USAGE = 1u << 0 /* the event has a "usage" object */
};

typedef struct avenor_event {
  uint32_t struct_size;
  avenor_str json;
  avenor_str event;
  avenor_str session_id;
  avenor_str text;
  uint32_t flags; /* avenor_event_flag bits */
} avenor_event;

/*
 * Services the host offers one plugin instance. `ctx` is passed back to every
 * function. All of them may be called from inside any plugin call.
 */
typedef struct avenor_host_api {
  uint32_t struct_size;
  void* ctx;
  /* A normalized event: one flat JSON object with an "event" field. */
  void (*emit_event)(void* ctx, avenor_str event_json);
  /* Bytes for the backend (its stdin). */
  void (*write)(void* ctx, avenor_str bytes);
  /* Finish operation `op` successfully with a JSON result. */
  void (*complete)(void* ctx, uint64_t op, avenor_str result_json);
  /* Finish operation `op` with a failure (avenor_failure) and a message. */
  void (*fail)(void* ctx, uint64_t op, int32_t failure, avenor_str message);
  /* Arm (or re-arm) timer `timer_id`, chosen by the plugin; fires on_timer. */
  void (*set_timer)(void* ctx, uint64_t timer_id, uint64_t delay_ms);
  void (*cancel_timer)(void* ctx, uint64_t timer_id);
  void (*log)(void* ctx, int32_t level, avenor_str message);
  /* A protocol error the plugin cannot recover from (an undecodable frame):
   * the host kills the backend at once and reports `message` via on_closed. */
  void (*fatal)(void* ctx, avenor_str message);

  /* --- since 1.1 (check struct_size before use) --------------------------- */

  /* Starts host service `service` (e.g. "http.request", "process.run"; the
   * list and the JSON shapes are in docs/plugin-guide.md) with a JSON request.
   * `call_id` is chosen by the plugin and names the call until its result.
   * The plugin's on_call_data may run any number of times (streams, listener
   * events), then on_call_result exactly once, always from the event loop and
   * never from inside a plugin call. An unknown service fails the call. */
  void (*call)(void* ctx, uint64_t call_id, avenor_str service, avenor_str request_json);
  /* Stops a call early. Its on_call_result still follows (as cancelled)
   * unless it had already been delivered. */
  void (*cancel_call)(void* ctx, uint64_t call_id);

  /* --- since 1.2 (check struct_size before use) --------------------------- */

  /* emit_event for an event the plugin has serialised itself (avenor_event
   * above): the fast path of the event stream. `event` and its strings are
   * only valid during the call. A host older than 1.2 lacks it; use
   * emit_event there. */
  void (*emit_event_serialized)(void* ctx, const avenor_event* event);
} avenor_host_api;

/* One plugin instance: one backend connection for one attempt. */
typedef struct avenor_instance avenor_instance;

/*
 * The plugin's functions. JSON shapes are documented in docs/plugin-guide.md.
 * Functions returning int32_t return 0 on success; otherwise they have put a
 * one-line message into `error`.
 */
typedef struct avenor_plugin_vtable {
  uint32_t struct_size;
  /* Create an instance of `backend` with start options (JSON object:
   * agent, label, dir, server_url, model, agent_profile, runtime_id, thinking).
   * `host` stays valid until destroy. */
  int32_t (*create)(avenor_str backend, avenor_str options_json, const avenor_host_api* host,
                    avenor_instance** out, avenor_sink error);
  void (*destroy)(avenor_instance* instance);
  /* What the host must launch, as JSON:
   * {"argv":[...], "env":{"K":"V"}, "unset_env":["K"], "cwd":""}. */
  int32_t (*launch_spec)(avenor_instance* instance, avenor_sink out, avenor_sink error);
  /* Transport events, delivered by the host. */
  void (*on_bytes)(avenor_instance* instance, avenor_str bytes);
  void (*on_closed)(avenor_instance* instance, avenor_str reason);
  void (*on_timer)(avenor_instance* instance, uint64_t timer_id);
  /* Asynchronous operations; each finishes with exactly one complete/fail.
   * start_session: {"resume_session_id": "..."?}  -> {"session_id": "..."}
   * prompt:        {"session_id", "text"}         -> {} (after its session.end)
   * cancel:        {"session_id"}                  -> {}
   * answer_permission: {"session_id", "request_id", "allow", "option_id",
   *                     "message", "cancelled"}    -> {} */
  void (*start_session)(avenor_instance* instance, uint64_t op, avenor_str params_json);
  void (*prompt)(avenor_instance* instance, uint64_t op, avenor_str params_json);
  void (*cancel)(avenor_instance* instance, uint64_t op, avenor_str params_json);
  void (*answer_permission)(avenor_instance* instance, uint64_t op, avenor_str params_json);

  /* --- since 1.1 (the host checks struct_size) ---------------------------- */

  /* Intermediate output of a host service call: raw bytes of a stream, or
   * one JSON message of a long-lived call (see the service's description). */
  void (*on_call_data)(avenor_instance* instance, uint64_t call_id, avenor_str data);
  /* The end of a call: `status` 0 with the result as JSON, or an
   * avenor_failure with a one-line message. */
  void (*on_call_result)(avenor_instance* instance, uint64_t call_id, int32_t status,
                         avenor_str result);
} avenor_plugin_vtable;

/* What the entry symbol returns. abi_major MUST stay the first field. */
typedef struct avenor_plugin_descriptor {
  uint32_t abi_major;
  uint32_t abi_minor;
  uint32_t struct_size;
  const char* plugin_name;
  const char* plugin_version;
  const avenor_backend_info* backends;
  size_t backend_count;
  const avenor_plugin_vtable* vtable;
} avenor_plugin_descriptor;

typedef const avenor_plugin_descriptor* (*avenor_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* AVENOR_ABI_PLUGIN_ABI_H */
