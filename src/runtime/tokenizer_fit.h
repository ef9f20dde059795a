#pragma once
// Whether a tokenizer fits an ONNX text model: every id it can give has a row in the
// model's token embedding table, and its max length has rows in the position table.
// Without this check a mismatched pair (an MPNet tokenizer, 30,527 ids, on a MiniLM body,
// 30,522 rows) runs until a text happens to produce a missing id, and then fails inside
// ONNX Runtime with a message about a Gather node.
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>

#include "docquant/tokenizer.h"

namespace docquant::runtime {

// The embedding tables a text model reads, found from the graph: the Gather (or
// (Q)EmbedLayerNormalization) that reads input_ids, and the Gather of a table named
// "…position…". Absent tables have 0 rows.
struct EmbeddingTables {
  std::string token_table;
  std::int64_t token_rows = 0;
  std::string position_table;
  std::int64_t position_rows = 0;
  // Position ids start here: 0 for BERT-style models; padding_idx + 1 for RoBERTa/MPNet-style
  // models, which count positions with a CumSum over the mask starting after padding_idx.
  std::int64_t position_offset = 0;
};
EmbeddingTables find_embedding_tables(const onnx::ModelProto& model);

// Throws InputError naming `model_name`, the table and `tokenizer_name` when the tokenizer
// gives ids beyond the token table or its max length needs more positions than the position
// table holds. Models whose tables are not found are accepted.
void check_tokenizer_fits(const onnx::ModelProto& model, const Tokenizer& tokenizer, const std::string& model_name,
                          const std::string& tokenizer_name);

}  // namespace docquant::runtime
