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
scandir=${SV_ROOT}/run/sv/service
# the pid of stage 2's 'openrc default' while it runs
starting=/run/sv-init/openrc-default.pid
