# stages/conf.sh: sourced by stages 1, 2 and 3 for their settings:
# /etc/conf.d/supervision (the backend and the tree, as OpenRC's
# supervision service has them) and /etc/conf.d/sv-init, with defaults.
# The standard directories are on PATH whatever init was given (an
# initramfs may pass PATH=/bin): openrc, modprobe and swapon are in sbin.
for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
	case ":$PATH:" in *":$d:"*) ;; *) PATH=${PATH:+$PATH:}$d ;; esac
done
export PATH
[ -r /etc/conf.d/supervision ] && . /etc/conf.d/supervision
[ -r /etc/conf.d/sv-init ] && . /etc/conf.d/sv-init
: "${SV_INIT_OPENRC:=auto}" "${SV_INIT_MODE:=system}"
if [ "$SV_INIT_OPENRC" = auto ]; then
	command -v openrc >/dev/null && SV_INIT_OPENRC=yes || SV_INIT_OPENRC=no
fi
# Setting up the machine (stage 1 without OpenRC) and taking it down
# (stage 3, after OpenRC's shutdown runlevel if there is one) are for a
# machine that the kernel booted with sv-init (SV_INIT_BOOTED), not for
# a container, nor for a PID namespace that shares its host's mounts.
if [ -z "$SV_INIT_SETUP" ]; then
	[ "$SV_INIT_MODE" = system ] && [ "$SV_INIT_BOOTED" = yes ] && SV_INIT_SETUP=yes || SV_INIT_SETUP=no
fi
export SV_BACKEND SV_ROOT # for sv-rc
# the profile whose OPTIONS.PROFILE overlays the scanner and sv-rc apply
[ -z "${SV_PROFILE:-}" ] || export SV_PROFILE
scandir=${SV_ROOT}/run/sv/service
# the pid of stage 2's 'openrc default' while it runs
starting=/run/sv-init/openrc-default.pid

# What the stages share to say what they do, one line a step.
stage=${0##*/} # 1, 2 or 3
# try WHAT COMMAND...: runs it quietly; a failure is one line.
try() {
	what=$1
	shift
	out=$("$@" 2>&1) && return
	echo "stage $stage: $what failed: $(printf '%s\n' "$out" | grep . | tail -n 1)"
	return 1
}
# the lines of the files named, comments and blank lines left out
lines() { cat "$@" 2>/dev/null | sed -e 's/#.*//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e '/^$/d'; }
# the *.conf files of the directories named, in the order of their names;
# a name in an earlier directory hides the same name in a later one
confs() {
	for d; do [ -d "$d" ] && ls "$d" 2>/dev/null; done | grep '\.conf$' | sort -u |
		while read -r f; do for d; do [ -f "$d/$f" ] && { echo "$d/$f"; break; }; done; done
}
