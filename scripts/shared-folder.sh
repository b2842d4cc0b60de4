# Sourced by the bench and fuzz scripts: sets SHARED to the project's read-only shared folder
# ($NAUTILUS_SHARED, else the first folder named `shared` holding vectors/ beside the repository or
# one of its ancestors), or to "" when there is none. The Swift tests find it the same way
# (Tests/TestSupport/SharedFolder.swift).
SHARED="${NAUTILUS_SHARED:-}"
if [ -z "$SHARED" ]; then
  _dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  while [ "$_dir" != "/" ]; do
    if [ -d "$(dirname "$_dir")/shared/vectors" ]; then SHARED="$(dirname "$_dir")/shared"; break; fi
    _dir="$(dirname "$_dir")"
  done
  unset _dir
fi
