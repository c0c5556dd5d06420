# Shared helpers of setup-vm.sh and setup-dom0.sh (sourced). Every action is printed; with
# --dry-run nothing is changed; with --root DIR everything goes into a staging root and no
# service manager or Qubes tool is called. Idempotent: a step whose result is already in place
# says nothing and changes nothing; the last line says whether anything changed.
SETUP_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=
DRY=0
CHANGES=0
BUILD=${QCLAW_BUILD_DIR:-$SETUP_SRC/build}

say() { echo "$SETUP_NAME: $*"; }
die() {
        echo "$SETUP_NAME: error: $*" >&2
        exit 1
}
act() { # act DESCRIPTION CMD...: a change
        say "$1"
        shift
        CHANGES=$((CHANGES + 1))
        [ "$DRY" = 1 ] || "$@"
}
# host-side command that only makes sense on the real system (skipped in a staging root)
sys() {
        if [ -n "$ROOT" ]; then
                say "skipped (staging root): $*"
        elif [ "$DRY" = 1 ]; then
                say "would run: $*"
        else
                say "run: $*"
                "$@"
        fi
}

ensure_dir() { # ensure_dir PATH MODE
        local p=$ROOT$1
        if [ ! -d "$p" ]; then
                act "create directory $1 (mode $2)" install -d -m "$2" "$p"
        elif [ "$(stat -c %a "$p")" != "${2#0}" ]; then
                act "set mode $2 on $1" chmod "$2" "$p"
        fi
}

ensure_file() { # ensure_file SRC_FILE DEST MODE: install when the content or mode differs
        local src=$1 dst=$ROOT$2 mode=$3
        [ -f "$src" ] || die "missing $src (build first: meson setup build && meson compile -C build)"
        if [ -L "$dst" ] || [ ! -f "$dst" ] || ! cmp -s "$src" "$dst"; then
                act "install $2" install -D -m "$mode" "$src" "$dst"
        elif [ "$(stat -c %a "$dst")" != "${mode#0}" ]; then
                act "set mode $mode on $2" chmod "$mode" "$dst"
        fi
}

ensure_content() { # ensure_content DEST MODE <<<CONTENT
        local tmp
        tmp=$(mktemp)
        cat >"$tmp"
        ensure_file "$tmp" "$1" "$2"
        rm -f "$tmp"
}

ensure_keep() { # ensure_keep SRC DEST MODE: install only if absent (the admin may edit it)
        if [ -e "$ROOT$2" ]; then
                cmp -s "$1" "$ROOT$2" || say "kept $2 (differs from the shipped one; not overwritten)"
        else
                act "install $2" install -D -m "$3" "$1" "$ROOT$2"
        fi
}

ensure_symlink() { # ensure_symlink TARGET LINK
        local l=$ROOT$2
        if [ "$(readlink "$l" 2>/dev/null)" != "$1" ]; then
                if [ -e "$l" ] || [ -L "$l" ]; then
                        act "replace $2 with a symlink to $1" ln -sfn "$1" "$l"
                else
                        act "link $2 -> $1" sh -c 'mkdir -p "$(dirname "$2")" && ln -s "$1" "$2"' _ "$1" "$l"
                fi
        fi
}

# subst IN OUT: configure a .in template the way meson does for units and helpers
subst() {
        sed -e "s|@BINDIR@|$PREFIX/bin|g" -e "s|@LIBEXECDIR@|$PREFIX/libexec/qclaw|g" \
                -e "s|@QREXEC_CLIENT@|/usr/bin/qrexec-client|g" "$1" >"$2"
}

need_build() { # need_build REL...: the built programs this setup installs
        local b missing=()
        for b in "$@"; do
                [ -x "$BUILD/$b" ] || missing+=("$b")
        done
        [ ${#missing[@]} = 0 ] && return 0
        if [ "$DRY" = 1 ]; then
                say "would build in $BUILD (missing: ${missing[*]})"
                return 0
        fi
        say "build in $BUILD (missing: ${missing[*]})"
        [ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$SETUP_SRC" >/dev/null
        meson compile -C "$BUILD" >/dev/null
}

valid_vm_name() {
        [[ $1 =~ ^[A-Za-z][A-Za-z0-9_.-]{0,30}$ ]] && [ "$1" != dom0 ] && [[ $1 != *-dm ]]
}

finish() {
        if [ "$CHANGES" = 0 ]; then
                say "nothing to do: already set up"
        elif [ "$DRY" = 1 ]; then
                say "dry run: $CHANGES change(s) would be made"
        else
                say "done: $CHANGES change(s)"
        fi
}
