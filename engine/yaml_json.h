// YAML to JSON conversion for configuration values.
//
// Plain scalars are typed as YAML 1.2's core schema reads them (null, true /
// false, integers, floats); quoted scalars are always strings, so `"10"`
// stays a string where `10` is a number.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "engine/canonical_json.h"
#include "engine/status.h"

namespace reins {

// Converts a YAML node; fails on non-scalar mapping keys.
Result<Json> YamlToJson(const YAML::Node& node);

// The dotted path ("policies.b.with.max", list items by index) of the node
// or mapping key at LINE:COLUMN (1-based) under `root`; "" when none is.
std::string YamlPathAt(const YAML::Node& root, int line, int column);

// "LINE:COLUMN" (1-based) of a node's position.
inline int YamlLine(const YAML::Node& node) { return node.Mark().line + 1; }
inline int YamlColumn(const YAML::Node& node) { return node.Mark().column + 1; }

}  // namespace reins
