// The positions a bipartite matching works with, written once for every backend (host and
// device): which original tokens take part, which of them form set A and set B, which are
// protected, how many tokens can be merged, and the order the survivors are written in.
//
//   T tokens at original positions 0..T-1. With class_token_handling::take_out the class token
//   does not take part: the participants are the other T-1 tokens in original order, otherwise
//   all T. Participant i is in set A when i is even (A index i/2), in set B when odd (B index i/2).
//   The survivors are numbered along the "sequence" q: preserve walks the participants in order;
//   tome walks set A, then set B. A survivor's output slot is the number of survivors before it in
//   that walk, shifted by one at and after the class token's slot when the class token was taken out.
#pragma once

#include "rescan/core/config.hpp"
#include "rescan/merge/merge_options.hpp"

namespace rescan::detail {

struct matching_layout {
  index_t tokens = 0;           // T
  index_t class_position = -1;  // p, or -1
  bool class_taken_out = false;
  index_t distill_position = -1;
  index_t r = 0;  // tokens merged (or pruned), already clamped
  merge_order order = merge_order::preserve;
  merge_mode mode = merge_mode::merge;

  RESCAN_HOST_DEVICE index_t participants() const { return tokens - (class_taken_out ? 1 : 0); }
  RESCAN_HOST_DEVICE index_t count_a() const { return (participants() + 1) / 2; }
  RESCAN_HOST_DEVICE index_t count_b() const { return participants() / 2; }
  RESCAN_HOST_DEVICE index_t tokens_out() const { return tokens - r; }

  // Original position of participant i.
  RESCAN_HOST_DEVICE index_t position(index_t i) const {
    return (class_taken_out && i >= class_position) ? i + 1 : i;
  }
  RESCAN_HOST_DEVICE index_t position_of_a(index_t a) const { return position(2 * a); }
  RESCAN_HOST_DEVICE index_t position_of_b(index_t b) const { return position(2 * b + 1); }

  // A token of set A that may never be a source: the class token (ToMe handling) or the distill token.
  RESCAN_HOST_DEVICE bool source_protected(index_t a) const {
    const index_t t = position_of_a(a);
    return t == distill_position || (!class_taken_out && t == class_position);
  }
  // A token of set B that may never be a destination: the distill token.
  RESCAN_HOST_DEVICE bool destination_protected(index_t b) const { return position_of_b(b) == distill_position; }

  // The participant walked at step q of the survivor sequence.
  RESCAN_HOST_DEVICE index_t participant_at(index_t q) const {
    if (order == merge_order::preserve) return q;
    const index_t a_count = count_a();
    return q < a_count ? 2 * q : 2 * (q - a_count) + 1;
  }

  // Where the taken-out class token goes back: floor(p * (T - r) / T).
  RESCAN_HOST_DEVICE index_t class_slot() const { return class_position * (tokens - r) / tokens; }

  // Output slot of the survivor numbered s along the sequence.
  RESCAN_HOST_DEVICE index_t slot_of_survivor(index_t s) const {
    return (class_taken_out && s >= class_slot()) ? s + 1 : s;
  }
};

// The largest r a matching can use: ToMe's (T - protected) / 2, and never more than the tokens of
// set A that may be sources; 0 when set B has no token that may be a destination.
inline index_t matching_r_limit(const matching_layout& layout) {
  const index_t protected_count = (layout.class_position >= 0 ? 1 : 0) + (layout.distill_position >= 0 ? 1 : 0);
  index_t sources = 0, destinations = 0;
  for (index_t a = 0; a < layout.count_a(); ++a) sources += layout.source_protected(a) ? 0 : 1;
  for (index_t b = 0; b < layout.count_b(); ++b) destinations += layout.destination_protected(b) ? 0 : 1;
  if (destinations == 0) return 0;
  const index_t tome_limit = (layout.tokens - protected_count) / 2;
  return tome_limit < sources ? tome_limit : sources;
}

}  // namespace rescan::detail
