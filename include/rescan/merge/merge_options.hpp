// What bipartite_soft_matching can be asked for: the similarity, the order of the merged
// sequence, merging or pruning, the protected tokens and how the class token is handled, and the
// reductions merge() applies. See bipartite_soft_matching.hpp for the algorithm.
#pragma once

#include "rescan/core/config.hpp"

namespace rescan {

// Similarity between two tokens, always of their L2-normalized metric rows (a zero row stays zero).
enum class similarity {
  cosine,       // a . b (ToMe)
  negative_l1,  // -sum_c |a_c - b_c|
  negative_l2   // -||a - b||_2
};

// Order of the tokens after merging.
enum class merge_order {
  tome,     // the unmerged tokens of set A, then every token of set B, each group in original order
            // (ToMe's order when it has a class token; without one ToMe leaves the unmerged A tokens
            // in descending-similarity order, rescan keeps them in original order)
  preserve  // the surviving tokens keep their original relative order (R-MeeTo; Mamba is order-sensitive)
};

// What happens to the r source tokens.
enum class merge_mode {
  merge,  // each is reduced into its most similar destination (several may share one)
  prune   // each is dropped (R-MeeTo's pruning baseline); unmerge() writes zeros at its position
};

// How the class token (options.class_token >= 0) is protected.
enum class class_token_handling {
  tome,     // it takes part in the split at its own position but is never a source (it may be a
            // destination when it falls in set B); its new position follows from the merge order
  take_out  // R-MeeTo: taken out before the split, put back at floor(p * (T - r) / T) afterwards
};

// How merge() combines the tokens that end up in one output token.
enum class merge_reduce { sum, mean, amax, amin };

struct matching_options {
  similarity metric = similarity::cosine;
  merge_order order = merge_order::preserve;
  merge_mode mode = merge_mode::merge;
  index_t class_token = -1;  // position of the class token in [0, T), or -1 for none
  class_token_handling class_handling = class_token_handling::take_out;
  index_t distill_token = -1;  // position of a distillation token (never a source nor a destination), or -1
};

inline const char* name_of(merge_reduce reduce) {
  switch (reduce) {
    case merge_reduce::sum: return "sum";
    case merge_reduce::mean: return "mean";
    case merge_reduce::amax: return "amax";
    default: return "amin";
  }
}

}  // namespace rescan
