# stages/conf.sh: sourced by stages 1, 2 and 3 for their settings:
# /etc/conf.d/supervision (the backend and the tree, as OpenRC's
# supervision service has them) and /etc/conf.d/sv-init, with defaults.
# sv-init gives PATH this value when the kernel gave it none.
: "${PATH:=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}"
[ -r /etc/conf.d/supervision ] && . /etc/conf.d/supervision
[ -r /etc/conf.d/sv-init ] && . /etc/conf.d/sv-init
: "${SV_INIT_OPENRC:=auto}" "${SV_INIT_MODE:=system}"
if [ "$SV_INIT_OPENRC" = auto ]; then
	command -v openrc >/dev/null && SV_INIT_OPENRC=yes || SV_INIT_OPENRC=no
fi
# Setting up the machine (stage 1 without OpenRC) and its mirror image
# (stage 3) are for a machine, not for a container.
if [ -z "$SV_INIT_SETUP" ]; then
	[ "$SV_INIT_MODE" = system ] && SV_INIT_SETUP=yes || SV_INIT_SETUP=no
fi
export SV_BACKEND SV_ROOT # for sv-rc
scandir=${SV_ROOT}/run/sv/service
