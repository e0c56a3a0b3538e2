// Token-merging figures in the style of the ToMe paper: for each image, the original (upscaled)
// and next to it the same image where the patches merged into one token share one colour (the
// mean gray of their pixels blended with a colour of their own), with lines on the boundaries
// between different tokens. Pruned patches are drawn black.
#pragma once

#include <cstdint>
#include <vector>

#include "common/report/rgb_image.hpp"

namespace rescan_examples {

// How a tinted patch is coloured: (1 - token_tint_alpha) * mean gray + token_tint_alpha * colour.
inline constexpr double token_tint_alpha = 0.45;
inline constexpr rgb token_boundary_color{20, 20, 20};
inline constexpr rgb pruned_patch_color{0, 0, 0};
// The gap in pixels around and between panels.
inline constexpr index_t token_panel_gap = 4;

// images: count pointers to (height, width) gray images, 0 = black; groups: count vectors of
// (height / patch) * (width / patch) group ids in row-major patch order, where patches with equal
// ids were merged into one token and -1 marks a pruned patch. Returns one row per image with two
// panels of (height * scale) x (width * scale): the original, and the token map; panels are
// separated and surrounded by token_panel_gap white pixels, so the figure is
// (2 * width * scale + 3 * gap) wide and (count * (height * scale + gap) + gap) tall.
// Throws std::invalid_argument when images is empty or its size differs from groups', an image
// pointer is null, patch or scale is below 1, height or width is not a positive multiple of patch,
// a group vector has the wrong length, or an id is below -1.
rgb_image draw_token_groups(const std::vector<const std::uint8_t*>& images, index_t height, index_t width,
                            index_t patch, const std::vector<std::vector<int>>& groups, index_t scale = 8);

// The colour of the k-th distinct token of an image (k in order of first appearance): hues spaced
// by the golden ratio, so neighbours in k differ clearly.
rgb token_color(index_t k);

}  // namespace rescan_examples
