// ViewTable: a view's key -> value table (core/view.h). Entries sit in one
// dense vector; an open-addressing index (linear probing over a power-of-two
// array) maps a key's hash to its entry. A lookup touches the index once and
// the entry once: with 100k random keys a node-based std::unordered_map,
// which touches three or four cache lines per lookup, folded at half the rate.
//
// Pointers to values stay valid until the next insert or erase.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace eda {

template <class Value>
class ViewTable {
 public:
  using Entry = std::pair<std::string, Value>;

  Value* find(std::string_view key) {
    size_t slot = locate(key, hash_of(key));
    return slot == kNone ? nullptr : &entries_[index_at(slot)].second;
  }
  const Value* find(std::string_view key) const { return const_cast<ViewTable*>(this)->find(key); }

  // The key's value, made (value-initialized) when absent; `inserted` says which.
  Value& find_or_insert(std::string_view key, bool& inserted) {
    uint64_t hash = hash_of(key);
    size_t slot = locate(key, hash);
    inserted = slot == kNone;
    if (!inserted) return entries_[index_at(slot)].second;
    if ((entries_.size() + 1) * 8 > slots_.size() * 7) grow();
    slot = home(hash);
    while (slots_[slot] != 0) slot = (slot + 1) & mask_;
    entries_.emplace_back(std::string(key), Value{});
    slots_[slot] = (hash << 32) | entries_.size();
    return entries_.back().second;
  }

  bool erase(std::string_view key) {
    size_t slot = locate(key, hash_of(key));
    if (slot == kNone) return false;
    size_t index = index_at(slot);
    remove_slot(slot);
    // The last entry moves into the gap; its slot follows it.
    size_t last = entries_.size() - 1;
    if (index != last) {
      uint64_t moved_hash = hash_of(entries_[last].first);
      size_t s = home(moved_hash);
      while (index_at(s) != last) s = (s + 1) & mask_;
      slots_[s] = (moved_hash << 32) | (index + 1);
      entries_[index] = std::move(entries_[last]);
    }
    entries_.pop_back();
    return true;
  }

  size_t size() const { return entries_.size(); }
  // Every entry, in no particular order.
  const std::vector<Entry>& entries() const { return entries_; }
  void clear() {
    entries_.clear();
    slots_.clear();
    mask_ = 0;
  }

 private:
  static constexpr size_t kNone = SIZE_MAX;

  // The low 32 bits of std::hash: the slot is (hash & mask) and the index
  // slot keeps it above the entry number (1-based; 0 is an empty slot).
  static uint64_t hash_of(std::string_view key) {
    return std::hash<std::string_view>{}(key)&0xffffffffu;
  }
  size_t home(uint64_t hash) const { return hash & mask_; }
  size_t index_at(size_t slot) const { return (slots_[slot] & 0xffffffffu) - 1; }

  size_t locate(std::string_view key, uint64_t hash) const {
    if (slots_.empty()) return kNone;
    for (size_t s = home(hash);; s = (s + 1) & mask_) {
      uint64_t v = slots_[s];
      if (v == 0) return kNone;
      if ((v >> 32) == hash && entries_[(v & 0xffffffffu) - 1].first == key) return s;
    }
  }

  // Backward-shift deletion keeps every key reachable from its home slot
  // without tombstones.
  void remove_slot(size_t hole) {
    slots_[hole] = 0;
    for (size_t s = (hole + 1) & mask_; slots_[s] != 0; s = (s + 1) & mask_) {
      size_t h = home(slots_[s] >> 32);
      // Movable when its home is not cyclically within (hole, s].
      bool stays = hole <= s ? (h > hole && h <= s) : (h > hole || h <= s);
      if (stays) continue;
      slots_[hole] = slots_[s];
      slots_[s] = 0;
      hole = s;
    }
  }

  void grow() {
    size_t capacity = slots_.empty() ? 16 : slots_.size() * 2;
    slots_.assign(capacity, 0);
    mask_ = capacity - 1;
    for (size_t i = 0; i < entries_.size(); ++i) {
      uint64_t hash = hash_of(entries_[i].first);
      size_t s = home(hash);
      while (slots_[s] != 0) s = (s + 1) & mask_;
      slots_[s] = (hash << 32) | (i + 1);
    }
  }

  std::vector<uint64_t> slots_;
  std::vector<Entry> entries_;
  size_t mask_ = 0;
};

}  // namespace eda
