#!/usr/bin/env bash
# sparkner prepare on a cluster: corpora -> documents, features, quarantine, labels.json, summary.json.
#   jobs/prepare.sh --input stockmark:abfss://data@acct.dfs.core.windows.net/stockmark/ner.json \
#     --input panx:ja:abfss://data@acct.dfs.core.windows.net/panx/ja \
#     --tokenizer abfss://models@acct.dfs.core.windows.net/bge-small-zh-v1.5 \
#     --output abfss://work@acct.dfs.core.windows.net/prepared --overwrite
# Settings: jobs/env.sh. Arguments: bin/sparkner prepare --help.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
sparkner_common_conf prepare
sparkner_static_conf
sparkner_submit prepare "$@"
