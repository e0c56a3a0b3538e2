#include "common/report/token_map.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

namespace rescan_examples {
namespace {

rgb gray(std::uint8_t v) { return {v, v, v}; }

TEST_CASE("the original panel is the upscaled image and the token panel colours groups by their mean") {
  // A 4x4 image with patch 2: a 2x2 patch grid. Patches 0 and 1 form token 7, patch 2 is token 3,
  // patch 3 is pruned.
  std::vector<std::uint8_t> image(16);
  for (std::size_t i = 0; i < 16; ++i) image[i] = static_cast<std::uint8_t>(10 * i);
  const index_t scale = 3, gap = token_panel_gap;
  const rgb_image figure = draw_token_groups({image.data()}, 4, 4, 2, {{7, 7, 3, -1}}, scale);
  CHECK(figure.width == 2 * 4 * scale + 3 * gap);
  CHECK(figure.height == 4 * scale + 2 * gap);
  for (index_t y = 0; y < 4; ++y)
    for (index_t x = 0; x < 4; ++x) CHECK(figure.get(gap + x * scale + 1, gap + y * scale + 1) == gray(image[y * 4 + x]));

  const index_t left = 2 * gap + 4 * scale, top = gap;
  // Token 7 = patches (0,0) and (0,1): pixels rows 0-1, all columns: mean of 0..70 = 35.
  const rgb token7 = mix(gray(35), token_color(0), token_tint_alpha);
  // Token 3 = patch (1,0): pixels 80, 90, 120, 130, mean 105; second distinct token.
  const rgb token3 = mix(gray(105), token_color(1), token_tint_alpha);
  CHECK(figure.get(left + 1, top + 1) == token7);
  CHECK(figure.get(left + 7, top + 1) == token7);  // the second patch, inside its cell
  CHECK(figure.get(left + 5, top + 1) == token7);  // no boundary inside a token
  CHECK(figure.get(left + 1, top + 7) == token3);
  CHECK(figure.get(left + 7, top + 7) == pruned_patch_color);
  CHECK(figure.get(left + 1, top + 5) == token_boundary_color);  // between token 7 and token 3
  CHECK(figure.get(left + 5, top + 7) == token_boundary_color);  // between token 3 and the pruned patch
  CHECK(token_color(0) != token_color(1));
}

TEST_CASE("several images give one row each") {
  const std::vector<std::uint8_t> a(64, 0), b(64, 255);
  const std::vector<int> ids(16, 0);
  const rgb_image figure = draw_token_groups({a.data(), b.data()}, 8, 8, 2, {ids, ids}, 2);
  CHECK(figure.height == 2 * (16 + token_panel_gap) + token_panel_gap);
  CHECK(figure.get(token_panel_gap, token_panel_gap) == gray(0));
  CHECK(figure.get(token_panel_gap, 2 * token_panel_gap + 16) == gray(255));
}

TEST_CASE("bad arguments are rejected with the values named") {
  const std::vector<std::uint8_t> image(16, 0);
  const std::vector<int> ids(4, 0);
  const auto message = [](auto call) {
    try {
      call();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no throw");
  };
  CHECK(message([&] { draw_token_groups({}, 4, 4, 2, {}); }) == "draw_token_groups: images is empty");
  CHECK(message([&] { draw_token_groups({image.data()}, 4, 4, 2, {ids, ids}); }) ==
        "draw_token_groups: 1 images but 2 group vectors");
  CHECK(message([&] { draw_token_groups({nullptr}, 4, 4, 2, {ids}); }) == "draw_token_groups: images[0] is null");
  CHECK(message([&] { draw_token_groups({image.data()}, 4, 4, 0, {ids}); }) == "draw_token_groups: patch = 0 is below 1");
  CHECK(message([&] { draw_token_groups({image.data()}, 4, 4, 2, {ids}, 0); }) == "draw_token_groups: scale = 0 is below 1");
  CHECK(message([&] { draw_token_groups({image.data()}, 4, 5, 2, {ids}); }) ==
        "draw_token_groups: height = 4, width = 5 are not positive multiples of patch = 2");
  CHECK(message([&] { draw_token_groups({image.data()}, 4, 4, 2, {{0, 0, 0}}); }) ==
        "draw_token_groups: groups[0] has 3 ids but the 2x2 patch grid needs 4");
  CHECK(message([&] { draw_token_groups({image.data()}, 4, 4, 2, {{0, -2, 0, 0}}); }) ==
        "draw_token_groups: groups[0][1] = -2 is below -1");
  CHECK(message([&] { draw_token_groups({image.data()}, 4, 4, 2, {ids}, index_t{1} << 40); }) ==
        "draw_token_groups: the figure would be larger than 2^14 pixels on a side");
}

}  // namespace
}  // namespace rescan_examples
