/* What besides the tensors a model file holds: its tokenizer. */
#ifndef HL_MODEL_FILE_H
#define HL_MODEL_FILE_H

#include "io/weights.h"
#include "text/tokenizer.h"

/* The tokenizer stored in the file's /tokenizer group. */
Tokenizer *model_file_tokenizer(WeightFile *wf);
/* Opens path, reads the tokenizer, closes it. */
Tokenizer *model_file_load_tokenizer(const char *path);

#endif
