# usage: show [-n ITEMS] WHO METHOD PATH [extra curl args...]; prints the command and the answer.
BASE=${BASE:-http://127.0.0.1:7070}
show() {
  local items=2
  if [ "$1" = "-n" ]; then items=$2; shift 2; fi
  local who=$1 method=$2 path=$3; shift 3
  local var=$(echo "$who" | tr a-z A-Z)
  local tok=$(grep -A2 "name = \"$who\"" $APIDOC_WORK/tokens.toml | grep token | cut -d'"' -f2)
  local shown="curl -si"
  [ "$method" != GET ] && shown="$shown -X $method"
  [ -n "$who" ] && [ "$who" != none ] && shown="$shown -H \"Authorization: Bearer \$$var\""
  local args=()
  for a in "$@"; do args+=("$a"); if [[ "$a" == -* ]]; then shown="$shown $a"; else shown="$shown '$a'"; fi; done
  echo '```console'
  echo "\$ $shown \"$BASE$path\""
  local auth=()
  [ "$who" != none ] && auth=(-H "Authorization: Bearer $tok")
  curl -si -X "$method" "${auth[@]}" "${args[@]}" "$BASE$path" > $APIDOC_WORK/resp
  # headers
  sed -n '1,/^\r$/p' $APIDOC_WORK/resp | tr -d '\r' | grep -viE '^(date|content-length):' | sed '/^$/d'
  echo
  body=$(sed '1,/^\r$/d' $APIDOC_WORK/resp)
  if [ -n "$body" ]; then
    echo "$body" | python3 $APIDOC_WORK/pretty.py "$items"
  else
    echo "$body"
  fi
  echo '```'
}
