// The edatool wire protocol, version 1 (docs/PROTOCOL.md is the full description).
//
// Every message is two ZeroMQ frames: a 2-byte header [version, command] and a
// msgpack body (an array whose layout depends on the command). The ROUTER in
// the broker sees the peer's routing id as an extra first frame.
#pragma once

#include <cstdint>
#include <map>
#include <msgpack.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/broker_engine.h"
#include "core/envelope.h"
#include "core/envelope_view.h"
#include "core/position.h"
#include "core/result.h"
#include "core/topic.h"
#include "core/view.h"
#include "core/view_set.h"

namespace eda::proto {

inline constexpr uint8_t kVersion = 1;

enum class Command : uint8_t {
  kHello = 1,         // c->b [req_id, client_name]
  kWelcome = 2,       // b->c [req_id, broker_version, instance_id, max_message_bytes]
  kPing = 3,          // c->b [req_id]
  kPong = 4,          // b->c [req_id, instance_id]
  kPublish = 5,       // c->b [req_id, [envelope...]]
  kConfirm = 6,       // b->c [req_id, [offset...], [index of a duplicate...]]
  kSubscribe = 7,     // c->b [req_id, sub_id, [pattern...], [pos_kind, pos_value],
                      //       credit_messages, credit_bytes, {topic: next_offset}]
  kOk = 8,            // b->c [req_id]
  kCredit = 9,        // c->b [sub_id, messages, bytes]
  kDeliver = 10,      // b->c [sub_id, [envelope...]]
  kEnd = 11,          // b->c [sub_id]  every matched topic caught up (once)
  kNotice = 12,       // b->c [sub_id, text]
  kUnsubscribe = 13,  // c->b [req_id, sub_id]
  kListTopics = 16,   // c->b [req_id, pattern]
  kTopicList = 17,    // b->c [req_id, [[name, earliest, next, bytes, first_ts, last_ts,
                      //                  compact, tombstone_retention_ms]...]]
  kDeleteTopic = 18,  // c->b [req_id, name] -> OK or ERROR
  kCreateTopic = 42,  // c->b [req_id, name, compact, tombstone_retention_ms] -> OK or ERROR
  kError = 15,        // b->c [req_id, code, text]  req_id 0: not tied to a request
  // Queues and groups (docs/PROTOCOL.md §12a, docs/QUEUES.md)
  kReceive = 19,   // c->b [req_id, topic, group, max, lock_ms, mode, wait_ms]
  kReceived = 20,  // b->c [req_id, [envelope...], [[lock_token, delivery_count, lock_expiry]...]]
  kSettle = 21,    // c->b [req_id, topic, group, [[lock_token, action, reason, description]...]]
  kSettled = 22,   // b->c [req_id, [error text, "" when done...]]
  kPeek = 23,      // c->b [req_id, topic, group, max] -> RECEIVED without locks
  kCreateGroup = 24,  // c->b [req_id, topic, group, lock_ms, max_deliveries, ttl_ms, [pos],
                      //       filter, [set...], [remove...]] -> OK
  kDeleteGroup = 25,  // c->b [req_id, topic, group] -> OK
  kListGroups = 26,   // c->b [req_id]
  kGroupList = 27,    // b->c [req_id, [[topic, group, lock_ms, max_deliveries, ttl_ms,
                      //        pending, locked, completed, dead_lettered, delivered, lost,
                      //        oldest_pending_ts, filter, [set...], [remove...]]...]]
  kStats = 40,        // c->b [req_id]
  kStatsReply = 41,   // b->c [req_id, {counter name: uint...}]
  // Materialized views (docs/PROTOCOL.md "Views")
  kCreateView = 28,     // c->b [req_id, name, from, key, filter, value, reduce] -> OK
  kDropView = 29,       // c->b [req_id, name] -> OK
  kRebuildView = 30,    // c->b [req_id, name] -> OK
  kViewGet = 31,        // c->b [req_id, name, key, after_topic, after_offset, wait_ms]
  kViewValue = 32,      // b->c [req_id, [type, value]]
  kViewList = 33,       // c->b [req_id, name, prefix]
  kViewRows = 34,       // b->c [req_id, [[key, [type, value]]...]]
  kViewStats = 35,      // c->b [req_id, name]  "" : every view
  kViewStatsList = 36,  // b->c [req_id, [[name, from, key, filter, value, reduce,
                        //        keys, folded, lag, {topic: next_offset}]...]]
};

enum class ErrorCode : uint16_t {
  kBadFrame = 1,  // not two frames, bad header, body not the command's layout
  kUnsupportedVersion = 2,
  kRejected = 3,             // a valid frame the broker refuses: bad topic or pattern, too large
  kUnknownSubscription = 5,  // sub_id unknown to this broker (restarted, or session expired)
  kInternal = 6,
  kStorage = 7,      // could not store or sync the batch (disk full, I/O error)
  kNotFound = 8,     // no such topic, queue or group
  kConflict = 9,     // the queue or group exists with other settings
  kPermission = 10,  // the client's CURVE key lacks the right (pub=, sub=, admin)
  kTimeout = 11,     // a wait the request asked for ran out (VIEW_GET after an offset)
};

std::string_view command_name(Command c);

struct Hello {
  static constexpr Command kCommand = Command::kHello;
  static constexpr uint32_t kFields = 2;
  uint64_t req_id = 0;
  std::string client;
};
struct Welcome {
  static constexpr Command kCommand = Command::kWelcome;
  static constexpr uint32_t kFields = 4;
  uint64_t req_id = 0;
  std::string broker_version;
  uint64_t instance = 0;
  uint64_t max_message_bytes = 0;
};
struct Ping {
  static constexpr Command kCommand = Command::kPing;
  static constexpr uint32_t kFields = 1;
  uint64_t req_id = 0;
};
struct Pong {
  static constexpr Command kCommand = Command::kPong;
  static constexpr uint32_t kFields = 2;
  uint64_t req_id = 0;
  uint64_t instance = 0;
};
struct Publish {
  static constexpr Command kCommand = Command::kPublish;
  static constexpr uint32_t kFields = 2;
  static constexpr const char* kIdField = "req_id";  // the field before the batch
  uint64_t req_id = 0;
  std::vector<Envelope> envelopes;
};
// A batch of envelopes read in place, for the hot paths: PUBLISH in the
// broker ([req_id, [envelope...]]), DELIVER in the subscriber ([sub_id,
// [envelope...]]). No envelope is copied. Accepts and refuses exactly what
// decode<M> does, with its messages. The envelopes borrow from the body and
// from this reader: valid until the next read().
template <class M>
class BatchReader {
 public:
  struct View {
    uint64_t id = 0;  // PUBLISH: req_id; DELIVER: sub_id
    std::span<const EnvelopeView> envelopes;
  };
  Result<View> read(std::string_view body);

 private:
  msgpack::zone zone_;
  std::vector<EnvelopeView> envelopes_;
  std::vector<HeaderField> headers_;
};
struct Deliver;
using PublishReader = BatchReader<Publish>;
using DeliverReader = BatchReader<Deliver>;
struct Confirm {
  static constexpr Command kCommand = Command::kConfirm;
  static constexpr uint32_t kFields = 3;
  uint64_t req_id = 0;
  std::vector<uint64_t> offsets;
  std::vector<uint32_t> duplicates;  // indexes of messages stored before (same id)
};
struct Subscribe {
  static constexpr Command kCommand = Command::kSubscribe;
  static constexpr uint32_t kFields = 8;

  uint64_t req_id = 0;
  uint64_t sub_id = 0;
  std::vector<std::string> patterns;
  Position from;
  uint64_t credit_messages = 0;
  uint64_t credit_bytes = 0;
  std::map<std::string, uint64_t> resume;
  std::string filter;  // a --filter expression (DESIGN §6); empty: every message
};
struct OkReply {
  static constexpr Command kCommand = Command::kOk;
  static constexpr uint32_t kFields = 1;
  uint64_t req_id = 0;
};
struct Credit {
  static constexpr Command kCommand = Command::kCredit;
  static constexpr uint32_t kFields = 3;
  uint64_t sub_id = 0;
  uint64_t messages = 0;
  uint64_t bytes = 0;
};
struct Deliver {
  static constexpr Command kCommand = Command::kDeliver;
  static constexpr uint32_t kFields = 2;
  static constexpr const char* kIdField = "sub_id";  // the field before the batch
  uint64_t sub_id = 0;
  std::vector<Envelope> envelopes;
};
struct End {
  static constexpr Command kCommand = Command::kEnd;
  static constexpr uint32_t kFields = 1;
  uint64_t sub_id = 0;
};
struct Notice {
  static constexpr Command kCommand = Command::kNotice;
  static constexpr uint32_t kFields = 2;
  uint64_t sub_id = 0;
  std::string text;
};
struct Unsubscribe {
  static constexpr Command kCommand = Command::kUnsubscribe;
  static constexpr uint32_t kFields = 2;
  uint64_t req_id = 0;
  uint64_t sub_id = 0;
};
struct ListTopics {
  static constexpr Command kCommand = Command::kListTopics;
  static constexpr uint32_t kFields = 2;
  uint64_t req_id = 0;
  std::string pattern;
};
struct TopicList {
  static constexpr Command kCommand = Command::kTopicList;
  static constexpr uint32_t kFields = 2;
  uint64_t req_id = 0;
  std::vector<TopicInfo> topics;
};
struct Stats {
  static constexpr Command kCommand = Command::kStats;
  static constexpr uint32_t kFields = 1;
  uint64_t req_id = 0;
};
// The broker's counters, in the order it lists them (docs/PROTOCOL.md §13.5).
using Counters = std::vector<std::pair<std::string, uint64_t>>;
struct StatsReply {
  static constexpr Command kCommand = Command::kStatsReply;
  static constexpr uint32_t kFields = 2;
  uint64_t req_id = 0;
  Counters counters;
};
struct DeleteTopic {
  static constexpr Command kCommand = Command::kDeleteTopic;
  static constexpr uint32_t kFields = 2;
  uint64_t req_id = 0;
  std::string name;
};
struct CreateTopic {
  static constexpr Command kCommand = Command::kCreateTopic;
  static constexpr uint32_t kFields = 4;
  uint64_t req_id = 0;
  std::string name;
  TopicSettings settings;
};
struct ErrorReply {
  static constexpr Command kCommand = Command::kError;
  static constexpr uint32_t kFields = 3;
  uint64_t req_id = 0;
  ErrorCode code = ErrorCode::kInternal;
  std::string text;
};

// How RECEIVE leases what it hands out.
enum class ReceiveMode : uint8_t {
  kPeekLock = 0,          // locked; the connection's loss abandons the locks
  kPeekLockDetached = 1,  // locked, settled maybe by another process (recv --ack manual)
  kReceiveAndDelete = 2,  // completed as handed out (recv --ack none)
};

struct Receive {
  static constexpr Command kCommand = Command::kReceive;
  static constexpr uint32_t kFields = 7;
  uint64_t req_id = 0;
  std::string topic;
  std::string group;
  uint64_t max = 1;
  uint64_t lock_ms = 0;  // 0: the group's
  ReceiveMode mode = ReceiveMode::kPeekLock;
  uint64_t wait_ms = 0;  // answer at once with what there is, or wait up to this for a message
};
struct Lock {
  LockToken token = 0;  // 0 in a PEEK answer
  uint32_t delivery_count = 0;
  int64_t expiry_ms = 0;
};
struct Received {
  static constexpr Command kCommand = Command::kReceived;
  static constexpr uint32_t kFields = 3;
  uint64_t req_id = 0;
  std::vector<Envelope> envelopes;
  std::vector<Lock> locks;  // one per envelope
};
struct Settle {
  static constexpr Command kCommand = Command::kSettle;
  static constexpr uint32_t kFields = 4;
  uint64_t req_id = 0;
  std::string topic;
  std::string group;
  std::vector<Settlement> settlements;
};
struct Settled {
  static constexpr Command kCommand = Command::kSettled;
  static constexpr uint32_t kFields = 2;
  uint64_t req_id = 0;
  std::vector<std::string> errors;  // per settlement, "" when done
};
struct Peek {
  static constexpr Command kCommand = Command::kPeek;
  static constexpr uint32_t kFields = 4;
  uint64_t req_id = 0;
  std::string topic;
  std::string group;
  uint64_t max = 0;
};
struct CreateGroup {
  static constexpr Command kCommand = Command::kCreateGroup;
  static constexpr uint32_t kFields = 10;
  uint64_t req_id = 0;
  CreateGroupRequest request;
};
struct DeleteGroup {
  static constexpr Command kCommand = Command::kDeleteGroup;
  static constexpr uint32_t kFields = 3;
  uint64_t req_id = 0;
  GroupRequest target;
};
struct ListGroups {
  static constexpr Command kCommand = Command::kListGroups;
  static constexpr uint32_t kFields = 1;
  uint64_t req_id = 0;
};
struct GroupList {
  static constexpr Command kCommand = Command::kGroupList;
  static constexpr uint32_t kFields = 2;
  uint64_t req_id = 0;
  std::vector<GroupInfo> groups;
};

struct CreateView {
  static constexpr Command kCommand = Command::kCreateView;
  static constexpr uint32_t kFields = 7;
  uint64_t req_id = 0;
  ViewSpec spec;
};
struct DropView {
  static constexpr Command kCommand = Command::kDropView;
  static constexpr uint32_t kFields = 2;
  uint64_t req_id = 0;
  std::string name;
};
struct RebuildView {
  static constexpr Command kCommand = Command::kRebuildView;
  static constexpr uint32_t kFields = 2;
  uint64_t req_id = 0;
  std::string name;
};
struct ViewGet {
  static constexpr Command kCommand = Command::kViewGet;
  static constexpr uint32_t kFields = 6;
  uint64_t req_id = 0;
  std::string name;
  std::string key;
  // Read-your-writes: answer once the view folded this offset of this topic
  // ("": answer now), waiting at most wait_ms (then ERROR TIMEOUT).
  std::string after_topic;
  uint64_t after_offset = 0;
  uint64_t wait_ms = 0;
};
struct ViewValueReply {
  static constexpr Command kCommand = Command::kViewValue;
  static constexpr uint32_t kFields = 2;
  uint64_t req_id = 0;
  ViewValue value;
};
struct ViewList {
  static constexpr Command kCommand = Command::kViewList;
  static constexpr uint32_t kFields = 3;
  uint64_t req_id = 0;
  std::string name;
  std::string prefix;
};
struct ViewRows {
  static constexpr Command kCommand = Command::kViewRows;
  static constexpr uint32_t kFields = 2;
  uint64_t req_id = 0;
  std::vector<std::pair<std::string, ViewValue>> rows;
};
struct ViewStatsRequest {
  static constexpr Command kCommand = Command::kViewStats;
  static constexpr uint32_t kFields = 2;
  uint64_t req_id = 0;
  std::string name;  // "": every view
};
struct ViewStatsList {
  static constexpr Command kCommand = Command::kViewStatsList;
  static constexpr uint32_t kFields = 2;
  uint64_t req_id = 0;
  std::vector<ViewStats> views;
};

// A body ready to send: the header bytes and the packed msgpack body.
struct Message {
  Command command;
  msgpack::sbuffer body;
};

Message encode(const Hello&);
Message encode(const Welcome&);
Message encode(const Ping&);
Message encode(const Pong&);
Message encode(const Confirm&);
Message encode(const Subscribe&);
Message encode(const OkReply&);
Message encode(const Credit&);
Message encode(const End&);
Message encode(const Notice&);
Message encode(const Unsubscribe&);
Message encode(const ErrorReply&);
Message encode(const ListTopics&);
Message encode(const TopicList&);
Message encode(const Stats&);
Message encode(const StatsReply&);
Message encode(const DeleteTopic&);
Message encode(const CreateTopic&);
Message encode(const Receive&);
Message encode(const Received&);
Message encode(const Settle&);
Message encode(const Settled&);
Message encode(const Peek&);
Message encode(const CreateGroup&);
Message encode(const DeleteGroup&);
Message encode(const ListGroups&);
Message encode(const GroupList&);
Message encode(const CreateView&);
Message encode(const DropView&);
Message encode(const RebuildView&);
Message encode(const ViewGet&);
Message encode(const ViewValueReply&);
Message encode(const ViewList&);
Message encode(const ViewRows&);
Message encode(const ViewStatsRequest&);
Message encode(const ViewStatsList&);
// RECEIVED from stored records (sent as stored) and their locks.
Message encode_received(uint64_t req_id, const std::vector<StoredRecord>& records,
                        const std::vector<Lock>& locks);
// Deliveries are stored records, sent as they are stored (each body is an envelope).
Message encode_deliver(uint64_t sub_id, const std::vector<StoredRecord>& records);
// PUBLISH of `count` envelopes already encoded one after another (envelope_codec.h).
Message encode_publish(uint64_t req_id, uint32_t count, std::string_view envelopes);
Message encode_publish(uint64_t req_id, const std::vector<Envelope>& envelopes);

// The header frame: [version][command], then the request's namespace as its
// remaining bytes; none means "default" (docs/PROTOCOL.md §3).
struct Header {
  Command command;
  std::string_view ns;  // into the decoded bytes, or kDefaultNamespace
};
std::string encode_header(Command command, std::string_view ns);
// Checks the header; errors say what was wrong.
Result<Header> decode_header(std::string_view header);

// Decoding a body never throws; a body that does not fit the command's layout
// gives an Error (kind kInvalidArgument) describing the first problem.
template <class T>
Result<T> decode(std::string_view body);

}  // namespace eda::proto
