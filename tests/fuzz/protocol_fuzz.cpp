// libFuzzer target for the wire protocol's body decoders (docs/PROTOCOL.md),
// which the broker and the clients run on whatever arrives on their sockets
// (built with -DEDATOOL_FUZZ=ON; scripts/test.sh runs it for 30 s).
//
// Input: the first byte picks a message type (modulo their number), the rest
// is its body; a prefix of the input (length from the first byte) also goes
// through decode_header, with and without a namespace.
//
// It aborts when a body that decodes does not survive a round trip: its
// encoding must decode again and encode to the same bytes (decoders and
// encoders agree on every layout they accept). And on anything the
// sanitizers report: a decoder must never read out of bounds, overflow, or
// throw, whatever the bytes.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "transport/protocol.h"

namespace {

using namespace eda;
using namespace eda::proto;

std::string_view bytes_of(const Message& m) {
  return {m.body.data(), m.body.size()};
}

// The encoder of a decoded message, where the protocol has one.
template <class T>
Message encode_again(const T& m) {
  if constexpr (std::is_same_v<T, Publish>)
    return encode_publish(m.req_id, m.envelopes);
  else
    return encode(m);
}

template <class T>
void check(std::string_view body) {
  const int command = static_cast<int>(T::kCommand);
  auto decoded = decode<T>(body);
  if (!decoded) return;
  if constexpr (!std::is_same_v<T, Deliver>) {  // DELIVER is encoded from stored records only
    Message first = encode_again(*decoded);
    auto again = decode<T>(bytes_of(first));
    if (!again) {
      std::fprintf(stderr, "protocol_fuzz: command %d: an encoded body does not decode: %s\n",
                   command, again.error().message.c_str());
      std::abort();
    }
    if (bytes_of(encode_again(*again)) != bytes_of(first)) {
      std::fprintf(stderr, "protocol_fuzz: command %d: decode and encode disagree\n", command);
      std::abort();
    }
  }
}

// The broker reads PUBLISH in place (PublishReader), the subscriber DELIVER
// (DeliverReader): each must accept exactly what decode<M> accepts, say the
// same when it refuses, and see the same envelopes.
template <class M>
void check_batch_reader(std::string_view body) {
  static BatchReader<M> reader;
  auto decoded = decode<M>(body);
  auto viewed = reader.read(body);
  bool same = decoded.ok() == viewed.ok();
  if (same && !decoded) same = decoded.error().message == viewed.error().message;
  if (same && decoded) {
    uint64_t id;
    if constexpr (M::kCommand == Command::kPublish)
      id = decoded->req_id;
    else
      id = decoded->sub_id;
    same = id == viewed->id && decoded->envelopes.size() == viewed->envelopes.size();
    for (size_t i = 0; same && i < decoded->envelopes.size(); ++i)
      same = copy_envelope(viewed->envelopes[i]) == decoded->envelopes[i];
  }
  if (!same) {
    std::fprintf(stderr, "protocol_fuzz: BatchReader and decode<%s> disagree\n",
                 std::string(command_name(M::kCommand)).c_str());
    std::abort();
  }
}

using Check = void (*)(std::string_view);
const Check kChecks[] = {
    &check<Hello>,
    &check<Welcome>,
    &check<Ping>,
    &check<Pong>,
    &check<Publish>,
    &check<Confirm>,
    &check<Subscribe>,
    &check<OkReply>,
    &check<Credit>,
    &check<Deliver>,
    &check<End>,
    &check<Notice>,
    &check<Unsubscribe>,
    &check<ErrorReply>,
    &check<ListTopics>,
    &check<TopicList>,
    &check<DeleteTopic>,
    &check<CreateTopic>,
    &check<Receive>,
    &check<Received>,
    &check<Settle>,
    &check<Settled>,
    &check<Peek>,
    &check<CreateGroup>,
    &check<DeleteGroup>,
    &check<ListGroups>,
    &check<GroupList>,
    &check<CreateView>,
    &check<DropView>,
    &check<RebuildView>,
    &check<ViewGet>,
    &check<ViewValueReply>,
    &check<ViewList>,
    &check<ViewRows>,
    &check<ViewStatsRequest>,
    &check<ViewStatsList>,
    &check<Stats>,
    &check<StatsReply>,
    &check_batch_reader<Publish>,
    &check_batch_reader<Deliver>,
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)decode_header(input.substr(0, data[0] % 70));  // headers with and without a namespace
  kChecks[data[0] % std::size(kChecks)](input.substr(1));
  return 0;
}
