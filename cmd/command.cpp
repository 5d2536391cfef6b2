#include "cmd/command.h"

#include <atomic>
#include <csignal>

#include "core/log.h"

namespace eda {

std::span<const Command> command_table() {
  static const Command kCommands[] = {
      {"broker", "run a broker that keeps and delivers events", setup_broker,
       "Runs a broker in the foreground, logging to stderr. It prints where it listens and where "
       "it keeps its data, and stops cleanly on SIGINT or SIGTERM: every publish it confirmed is "
       "on disk.\n\n"
       "Each topic is an append-only log of segment files under the data directory. A publish is "
       "confirmed once stored under the --fsync policy: batch (the default) shares one fdatasync "
       "among everything written meanwhile; always syncs each batch; never leaves it to the page "
       "cache. On start the broker checks the end of each topic's last segment and cuts off a "
       "torn or corrupt tail, saying how many bytes it cut. A second broker on the same data "
       "directory refuses to start.\n\n"
       "Retention drops whole segments that are older than --retention-age or beyond "
       "--retention-bytes per topic; a subscriber that falls behind is told and resumes at the "
       "earliest message kept.\n\n"
       "Bridges let plain ZeroMQ programs in without an edatool client (docs/PROTOCOL.md, "
       "Bridges). --tap URL is an XPUB: every stored message of a user topic, once subscribers "
       "could see it, goes out as [topic][payload] to each SUB whose prefix subscription matches "
       "the topic; no SUB, no copy (ZeroMQ drops what no one subscribed to). A SUB that reads "
       "slowly slows the tap alone, never publishers or other subscribers. --ingest URL is a PULL "
       "that stores [topic][payload] or [topic][payload][msgpack map of headers] from PUSH "
       "sockets as pub would; malformed messages are dropped and counted with a log line, and "
       "the totals are logged when the broker stops.",
       "# a broker on the default URL, data in ~/.local/share/edatool\n"
       "edatool broker\n"
       "# any free port on loopback plus a Unix socket, data in ./data\n"
       "edatool broker --bind 'tcp://127.0.0.1:*' --bind ipc:///tmp/eda.sock --data ./data\n"
       "# memory only, at most 64 MiB per topic\n"
       "edatool broker --memory --retention-bytes 64MiB\n"
       "# plain ZeroMQ SUBs on port 7671, PUSHes on port 7672\n"
       "edatool broker --tap tcp://127.0.0.1:7671 --ingest tcp://127.0.0.1:7672\n",
       "$XDG_DATA_HOME/edatool\tThe data directory when --data is not given "
       "(~/.local/share/edatool when XDG_DATA_HOME is unset): a directory per namespace, in it "
       "one per topic with its segment (.log) and index (.idx) files.\n"
       "$XDG_DATA_HOME/edatool/LOCK\tThe running broker's process id, locked with flock(2) "
       "while it runs, so that a second broker on the same data directory refuses to start. "
       "A directory given with --data has its own LOCK.\n"},
      {"pub", "publish messages from arguments or stdin", setup_pub,
       "Publishes each MESSAGE argument as one message, or, with none, reads stdin: one message "
       "per line by default (a last line without a newline counts), split at -d CHAR or at NUL "
       "bytes with -0, all of stdin as one message with --whole, or JSON or msgpack envelopes as "
       "sub writes them, which keeps their ids, keys and headers.\n\n"
       "pub waits until the broker confirms every message as stored and exits 0 only then. "
       "Batches that are not confirmed are sent again with the same ids, in order, after a lost "
       "connection or a broker restart. Every message gets a time-ordered id (a ULID) unless "
       "--id or the input gives one.\n\n"
       "With -b kafka://HOST:PORT, pub produces to Kafka (idempotent, acks=all) and exits 0 only "
       "when every delivery report succeeded; the id travels as the header edatool-id "
       "(docs/KAFKA.md).",
       "# one message per argument, with a key and typed headers\n"
       "edatool pub -k order-7 -H source=web -H amount:=120 orders.eu.created '{\"id\":7}'\n"
       "# one message per line of a growing log file\n"
       "tail -F app.log | edatool pub logs.app\n"
       "# copy a topic with ids, keys and headers intact\n"
       "edatool sub orders.eu.created --from earliest -e --format json | edatool pub orders.copy "
       "--json\n"},
      {"sub", "subscribe to topics and print their messages", setup_sub,
       "Prints the messages of every topic matching a PATTERN, each topic in offset order, "
       "starting at --from (new messages only by default). A * in a pattern matches one token, "
       "a > at the end one or more. Topics created later that match are followed from their "
       "first message.\n\n"
       "raw output is each payload and a newline; json is one object per line with topic, "
       "offset, id, key, ts, headers and payload, or payload_base64 when the payload is not "
       "valid UTF-8, so binary data is never lost; msgpack is the same as a binary stream. "
       "Output is flushed whenever no further message is waiting. The broker sends only what "
       "sub has room for, so a slow reader loses nothing.\n\n"
       "--filter keeps only the messages a SQL-like condition matches: headers by name, "
       "sys.id, sys.topic, sys.key, sys.ts, sys.offset, sys.size, and fields of JSON payloads "
       "as payload.a.b or payload.items[0].sku; = <> < <= > >= LIKE IN BETWEEN IS NULL "
       "EXISTS, AND OR NOT, arithmetic. The broker evaluates it, so nothing else crosses the "
       "wire; with --from -N it means the last N that match. A filter that does not parse "
       "exits 2 with a caret under the error. docs/FILTERS.md has the whole language.\n\n"
       "With -b kafka://HOST:PORT, sub reads every partition of the matching Kafka topics "
       "(--group: as a member of a Kafka consumer group); --from applies to each partition, "
       "json output adds partition, templates have %p, and sub evaluates --filter itself "
       "(docs/KAFKA.md).",
       "# everything about EU orders, as JSON lines\n"
       "edatool sub 'orders.eu.>' --format json\n"
       "# only big orders of gold customers, by header and by a JSON payload field\n"
       "edatool sub 'orders.>' --filter \"amount > 100 AND payload.customer.tier = 'gold'\"\n"
       "# the last 10 messages, then exit\n"
       "edatool sub logs.app --from -10 -e\n"
       "# wait at most 30s for 5 messages (exit 3 if they do not come)\n"
       "edatool sub jobs.done -n 5 --timeout 30s --template '%k %s\\n'\n"},
      {"recv", "receive from a queue with locks: work it, settle each message", setup_recv,
       "Receives messages of a queue (or of durable group GROUP on a topic, as TOPIC:GROUP), "
       "competing with every other receiver: each message goes to one receiver at a time, "
       "locked for --lock (the queue's lock by default, 30s unless set by queue create). A "
       "queue that does not exist yet is created with the defaults.\n\n"
       "--ack auto (the default) completes each message once it was written to stdout, so a "
       "crash loses nothing: what was not completed is delivered again. --exec CMD runs "
       "`sh -c CMD` per message instead, with the payload on stdin and EDATOOL_ID, EDATOOL_KEY, "
       "EDATOOL_TOPIC, EDATOOL_OFFSET, EDATOOL_DELIVERY_COUNT and EDATOOL_HEADER_<NAME> in its "
       "environment; exit 0 completes the message, anything else abandons it, and its lock is "
       "renewed while it runs. After --max-deliveries attempts (10 by default) a message moves "
       "to the dead-letter queue (see edatool dlq). --ack manual prints TOKEN PAYLOAD (or JSON "
       "with lock_token) and leaves settling to `edatool settle`; --ack none removes each "
       "message as it is handed out (at most once).\n\n"
       "Without -n recv runs until interrupted; --wait DUR stops it after DUR without a "
       "message (exit 0, or 3 when -n was not reached).\n\n"
       "With -b kafka://HOST:PORT, recv is a member of the Kafka consumer group GROUP (or the "
       "one named after the topic) and commits a message's offset only once it is completed; "
       "a failed handler makes it come again. --ack manual|none, --lock and --concurrency need "
       "edatool's broker (docs/KAFKA.md).",
       "# a worker pool of 4 handlers\n"
       "edatool recv jobs --exec ./handle.sh --concurrency 4\n"
       "# drain what is there now, then exit\n"
       "edatool recv jobs --wait 1s\n"
       "# take one message, settle it later\n"
       "edatool recv jobs -n 1 --ack manual\n"},
      {"tail", "show the last messages of a topic, and follow it with -f", setup_tail,
       "Prints the last N messages of a topic (10 by default) and exits, or with -f keeps "
       "printing new ones, like tail(1). It reads without consuming anything.",
       "# the last 20 log lines, then follow\n"
       "edatool tail logs.app -n 20 -f\n"
       "# the last 5 errors\n"
       "edatool tail logs.app -n 5 --filter \"level IN ('error', 'fatal')\"\n"},
      {"replay", "replay a topic's stored log, to stdout or into another topic", setup_replay,
       "Reads the stored log of the named topics in offset order, from --from (the earliest "
       "message by default) to --to (inclusive) or the end, and exits. --speed original keeps "
       "the gaps between the messages' timestamps; --republish publishes into another topic "
       "instead of printing, keeping ids, keys and headers.\n\n"
       "With --data DIR, replay reads a broker's data directory directly: no broker needs to "
       "run, and a running broker is not disturbed.",
       "# rebuild state from the whole log\n"
       "edatool replay accounts.events --format json | ./rebuild-balances\n"
       "# one account's events only\n"
       "edatool replay accounts.events --filter \"sys.key = 'acct-42'\"\n"
       "# the last hour, at ten times the original pace\n"
       "edatool replay sensors.temp --from @-1h --speed 10x\n"
       "# offline, from a copy of a broker's data directory\n"
       "edatool replay orders.eu.created --data /backup/edatool --from 1000 --to 1999\n"},
      {"topic", "list, inspect and delete topics", setup_topic,
       "topic list prints topic names, one per line; topic stats prints messages, bytes, first "
       "and next offsets and first and last times per topic (--json for machines); topic delete "
       "removes a topic and all its messages.",
       "# topics under orders\n"
       "edatool topic list 'orders.>'\n"
       "# sizes as JSON\n"
       "edatool topic stats --json\n"},
      {"subscription", "durable filtered subscriptions on a topic, read with recv TOPIC:NAME",
       setup_subscription,
       "A durable subscription keeps, for its own readers, every message published to its "
       "topic after it was created that its --filter matches, as a queue does: `recv "
       "TOPIC:NAME` receives them with locks, settling, dead-lettering and the rest. --set "
       "and --remove change the headers of the copy it delivers (the message in the topic "
       "stays as it is). Two subscriptions on one topic each get their own copy of what they "
       "match; readers of one subscription compete.\n\n"
       "subscription list also shows the groups made by sub --group, which are "
       "subscriptions without a rule.",
       "# EU orders over 100, marked for the audit team\n"
       "edatool subscription create orders audit --filter \"region = 'eu' AND amount > 100\" "
       "--set team=audit --remove internal\n"
       "# work them\n"
       "edatool recv orders:audit --exec ./audit.sh\n"
       "# what there is, with rules and counts\n"
       "edatool subscription list --json\n"},
      {"view", "materialized views: key -> value tables folded from topics", setup_view,
       "view create makes a view: the broker folds every message of the topics matching --from, "
       "from the earliest stored one and then live, into a table. --key is an expression of the "
       "filter language (sys.key, a header, payload.a.b, arithmetic) giving each message's key; "
       "--value another giving the value (default: the payload); --filter picks the messages; "
       "--reduce says how values of one key combine: last (the latest; NULL or an empty payload "
       "deletes the key), count, sum, min, max (numbers), merge (JSON objects merged field by "
       "field, a null field deleted). Views survive restarts: the broker keeps a snapshot and "
       "folds only what came after.\n\n"
       "view get prints one key's value (JSON text for objects; exit 1 when the key is absent); "
       "with --after TOPIC:OFFSET it first waits until the view folded that offset (exit 3 "
       "after --timeout), so a script reads its own writes. view list prints KEY<tab>VALUE "
       "lines in key order (--format json: one {\"key\":...,\"value\":...} per line). view "
       "stats prints keys, messages folded, lag and the next offset per topic. view rebuild "
       "folds the whole log again; view drop deletes the view. view build folds a data "
       "directory with no broker and prints the table.",
       "# balances per account, summed from payments\n"
       "edatool view create balances --from payments --key payload.account --value "
       "payload.amount --reduce sum\n"
       "edatool view get balances acct-17\n"
       "# publish, then read your own write\n"
       "off=$(edatool pub payments --print-offsets '{\"account\":\"acct-17\",\"amount\":5}')\n"
       "edatool view get balances acct-17 --after \"$off\"\n"
       "# the same table from a backup, no broker\n"
       "edatool view build --data /backup/edatool --from payments --key payload.account "
       "--value payload.amount --reduce sum\n"},
      {"queue", "create, delete, list and inspect queues", setup_queue,
       "queue create makes a queue: a topic plus the broker's consumer group for it, read "
       "from the topic's first message. --lock is how long a received message stays locked "
       "(30s by default), --max-deliveries how many deliveries a message gets before it is "
       "dead-lettered (10), --ttl how old a message may get before it is dead-lettered "
       "instead of delivered (no limit). Creating a queue again with the same settings "
       "succeeds; with other settings it fails (exit 1): delete it first.\n\n"
       "queue delete removes a queue, its topic and its dead-letter queue. queue list prints "
       "queue names, one per line; queue stats prints per queue the messages pending, locked, "
       "completed, dead-lettered and delivered (redeliveries included) and the age of the "
       "oldest pending one (--json for machines, with the queue's settings).",
       "# a queue whose messages get 5 tries of at most a minute each\n"
       "edatool queue create jobs --lock 1m --max-deliveries 5\n"
       "# how far behind the workers are\n"
       "edatool queue stats 'jobs.>'\n"
       "# pending counts for a script\n"
       "edatool queue stats --json | jq -r '[.queue, .pending] | @tsv'\n"},
      {"settle", "complete, abandon or dead-letter messages received with --ack manual",
       setup_settle,
       "Settles messages that `recv --ack manual` printed with their lock tokens: complete "
       "removes them from the queue, abandon makes them available again (their delivery count "
       "stays raised), deadletter moves them to the dead-letter queue with --reason "
       "(DeadLetteredByReceiver by default) and --description. The action comes after the "
       "tokens, or before them, which suits xargs. QUEUE is a queue, or TOPIC:GROUP for a "
       "durable group.\n\n"
       "Each token whose lock expired or was already settled is an error naming the token "
       "(exit 1); the others are settled all the same.",
       "# mark a message that recv --ack manual printed as done\n"
       "edatool settle jobs 0123456789abcdef complete\n"
       "# give up on a poisonous message, saying why\n"
       "edatool settle jobs 0123456789abcdef deadletter --reason BadInput --description 'no id'\n"
       "# complete every token of a list\n"
       "cut -d' ' -f1 tokens.txt | xargs edatool settle jobs complete\n"},
      {"dlq", "list a queue's dead-lettered messages, or resubmit them", setup_dlq,
       "Prints the messages in a queue's dead-letter queue, oldest first, without removing "
       "them: by default one line each of REASON, DELIVERY_COUNT and PAYLOAD separated by "
       "tabs; --format json shows the dlq.reason, dlq.description, dlq.delivery_count, "
       "dlq.offset and dlq.group headers among the others.\n\n"
       "--resubmit publishes each (up to -n) back to the queue as a new message, with the "
       "same key, headers and payload and a new id, and removes it from the dead-letter queue "
       "once the broker confirmed the publish. A message that cannot be published stays in "
       "the dead-letter queue (exit 1).",
       "# what failed, and why\n"
       "edatool dlq jobs\n"
       "# only messages that expired, as JSON\n"
       "edatool dlq jobs --format json | jq -c 'select(.headers[\"dlq.reason\"] == "
       "\"TTLExpired\")'\n"
       "# after fixing the handler, try them again\n"
       "edatool dlq jobs --resubmit\n"},
      {"stats", "the broker's counters: clients, traffic, refused and malformed requests",
       setup_stats,
       "Prints the broker's counters, one per line (--json: one object): uptime_seconds; "
       "clients and subscriptions connected now; topics in the current namespace; "
       "messages_published, messages_duplicate (confirmed, already stored) and "
       "messages_delivered since start; receives_waiting and replies_waiting_for_sync now; "
       "ingest_stored and ingest_dropped by the --ingest bridge; "
       "malformed_frames (requests that did not parse, answered with BAD_FRAME), "
       "refused_over_limit (a per-client limit: subscriptions, requests in flight) and "
       "refused_permission (outside a CURVE key's rights) since start. With CURVE it needs "
       "the admin right.",
       "# everything, aligned\n"
       "edatool stats\n"
       "# one counter, for a script\n"
       "edatool stats --json | jq .malformed_frames\n"},
      {"bench", "measure publish/subscribe throughput and latency", setup_bench,
       "Publishes --messages messages of --size bytes from --publishers connections and "
       "receives every one of them on each of --subscribers connections, all in this process, "
       "on a new topic bench.<ulid>. Prints publish throughput (until every message was "
       "confirmed), receive throughput per subscriber, and publish-to-receive latency: "
       "percentiles and a histogram. Each payload starts with the time the message was handed "
       "to the publisher (8 bytes); with --rate, the time it was due, so a publisher that falls "
       "behind shows as latency.\n\n"
       "Without -b or EDATOOL_BROKER, bench starts a broker of its own in this process on a "
       "free loopback port: in memory (--memory, the default) or on a temporary data directory "
       "with group-commit fsync (--stored), removed afterwards. With a running broker, the topic "
       "is deleted after the run.\n\n"
       "Every subscriber checks that it got every message once and in order; a bench that "
       "loses or repeats messages fails (exit 1) and says how many each subscriber got.",
       "# throughput of an embedded in-memory broker, 100-byte messages\n"
       "edatool bench\n"
       "# latency at 10k msg/s with the log on disk\n"
       "edatool bench --stored --rate 10000 --messages 100000\n"
       "# a running broker, 2 publishers, 4 subscribers, results as JSON\n"
       "edatool -b tcp://10.0.0.5:7670 bench --publishers 2 --subscribers 4 --json | jq "
       ".receive\n"},
      {"keygen", "make a CURVE key pair for a broker or a client", setup_keygen,
       "Makes a CURVE key pair (ZeroMQ's encryption and authentication) as Z85 text, 40 "
       "characters per key. With --out PREFIX it writes PREFIX.pub, the public key, and "
       "PREFIX.key, the secret key, readable only by its owner (mode 0600), each key followed "
       "by a newline; it refuses to replace existing files unless --force is given. Without "
       "--out it prints two lines, `public: KEY` and `secret: KEY`.\n\n"
       "A broker runs with --curve-secret BROKER.key and --authorized-keys FILE, a list of the "
       "clients' public keys, one per line, each optionally followed by its rights: "
       "pub=PATTERN[,PATTERN...] (topics it may publish to), sub=PATTERN[,PATTERN...] (what it "
       "may subscribe to or receive from) and admin (topic, queue and subscription "
       "management); a key with no rights listed may do everything. A client gives "
       "--curve-key CLIENT.key and --server-key BROKER.pub (or EDATOOL_CURVE_KEY and "
       "EDATOOL_SERVER_KEY).",
       "# a key pair for the broker and one for a client\n"
       "edatool keygen --out broker && edatool keygen --out alice\n"
       "# a broker that admits alice, who may publish to orders.> only\n"
       "echo \"$(cat alice.pub) pub=orders.>\" > keys && edatool broker --curve-secret broker.key "
       "--authorized-keys keys\n"
       "# alice publishes\n"
       "edatool --curve-key alice.key --server-key broker.pub pub orders.new hello\n"},
      {"help", "print the help of edatool or of a command, with examples", setup_help,
       "Prints on stdout what edatool --help prints, or with a COMMAND what edatool COMMAND "
       "--help prints: its usage, options and examples. An unknown COMMAND is an error (exit 2) "
       "that names the nearest command.",
       "# the global options and the list of commands\n"
       "edatool help\n"
       "# the options and examples of sub\n"
       "edatool help sub\n"},
      {"completion", "print a shell completion script (bash, zsh or fish)", setup_completion,
       "Prints a completion script for the shell, generated from edatool's own flags. It "
       "completes commands, flags, fixed choices, files, and topic names from the running "
       "broker.",
       "# bash, for this session\n"
       "source <(edatool completion bash)\n"
       "# fish, permanently\n"
       "edatool completion fish > ~/.config/fish/completions/edatool.fish\n"},
      {"man", "print a manual page in roff", setup_man,
       "Prints the manual page of edatool, or of one COMMAND, generated from edatool's own flags.",
       "# read the page of pub\n"
       "edatool man pub | man -l -\n"},
  };
  return kCommands;
}

int report(const Error& error) {
  log_error("{}", error.message);
  switch (error.kind) {
    case ErrorKind::kInvalidArgument:
      return kExitUsage;
    case ErrorKind::kTimeout:
      return kExitTimeout;
    case ErrorKind::kInterrupted:
      return kExitInterrupted;
    case ErrorKind::kRuntime:
    case ErrorKind::kCorruption:
    case ErrorKind::kNotFound:
    case ErrorKind::kConflict:
      return kExitFailure;
  }
  return kExitFailure;
}

namespace {
std::atomic<bool> stop_requested{false};
std::atomic<bool> reload_requested{false};
extern "C" void on_stop_signal(int) {
  stop_requested = true;
}
extern "C" void on_reload_signal(int) {
  reload_requested = true;
}
}  // namespace

const std::atomic<bool>& install_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return stop_requested;
}

std::atomic<bool>& install_reload_signal() {
  struct sigaction sa {};
  sa.sa_handler = on_reload_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGHUP, &sa, nullptr);
  return reload_requested;
}

}  // namespace eda
