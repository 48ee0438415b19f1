#!/bin/sh
# openrc.sh BIN TREE REPS: run inside the OpenRC sandbox by the bench. Times
# `rc-service X start` and `stop` for sv.NAME on each of our backends and
# for OpenRC's own supervise-daemon, s6 and runit backends, and checks
# whether a daemon that exits at once is reported as a failure. Prints
#   time WHO start|stop MILLISECONDS
#   fails WHO yes|no
# WHO: builtin, runit, s6, daemontools, openrc-supervise-daemon,
# openrc-s6, openrc-runit, openrc-noop (an init script that does nothing),
# openrc-messages (ebegin and eend only), openrc-goprog (those and one
# sv-rc run that does next to nothing). REPS starts and stops each
# (daemontools: 3), except builtin, supervise-daemon and the last three:
# 5*REPS rounds of one start and stop of each in turn, so that a machine
# that gets slower or faster during the run moves them alike (their ratios
# are the point).
BIN=$1 TREE=$2 REPS=$3
export PATH="$BIN:$PATH"

ms() { date +%s%N; }
timed() { # timed WHO OP SERVICE: one rc-service run, timed
	t0=$(ms)
	rc-service "$3" "$2" >/dev/null 2>&1
	rc=$?
	echo "time $1 $2 $(( ($(ms) - t0) / 1000 ))"
	return $rc
}
reps() { # reps WHO SERVICE N [SETTLE]: SETTLE runs after each stop
	i=0
	while [ $i -lt "$3" ]; do
		timed "$1" start "$2"
		timed "$1" stop "$2"
		${4:+$4 "$2"}
		i=$((i+1))
	done
}
# runsv_gone SERVICE: wait until the runsv of OpenRC's runit service has
# exited. OpenRC's stop removes the link and returns; runsvdir ends runsv
# up to a second later. A start within that second finds runsv still
# there and skips what a start after any earlier stop pays (runsvdir
# noticing the link, `sv start` failing, `sleep 1`, again): the start the
# issue measured at 3.1 s. runsv holds supervise/lock while it runs.
runsv_gone() {
	timeout 10 flock "/run/bench-peers/$1/supervise/lock" true 2>/dev/null
}
fails() { # fails WHO SERVICE: is a daemon that exits at once reported?
	if rc-service "$2" start >/dev/null 2>&1; then
		echo "fails $1 no"
		rc-service "$2" stop >/dev/null 2>&1
	else
		echo "fails $1 yes"
	fi
}

# rounds N WHO:SERVICE...: N rounds of one start and stop of each, after
# one unmeasured round (the first rc-service after /etc/init.d changed
# rebuilds OpenRC's deptree).
rounds() {
	n=$1
	shift
	for ws in "$@"; do rc-service "${ws#*:}" start >/dev/null 2>&1; rc-service "${ws#*:}" stop >/dev/null 2>&1; done
	i=0
	while [ $i -lt "$n" ]; do
		for ws in "$@"; do
			timed "${ws%%:*}" start "${ws#*:}"
			timed "${ws%%:*}" stop "${ws#*:}"
		done
		i=$((i+1))
	done
}

peer() { # peer NAME SUPERVISOR CMD...: an init script for OpenRC's backend
	name=$1 sup=$2
	shift 2
	dir=/run/bench-peers/$name
	mkdir -p "$dir"
	printf '#!/bin/sh\nexec %s\n' "$*" >"$dir/run"
	chmod 755 "$dir/run"
	{
		echo '#!/sbin/openrc-run'
		echo "supervisor=$sup"
		case $sup in
		supervise-daemon) echo "command=$1"; shift; echo "command_args=\"$*\""; echo "respawn_delay=1" ;;
		s6) echo "s6_service_path=$dir"; echo 'depend() { need s6-svscan; }' ;;
		runit) echo "runit_service=$dir"; echo 'depend() { need runsvdir; }' ;;
		esac
	} >"/etc/init.d/$name"
	chmod 755 "/etc/init.d/$name"
}
peer peer-supervise-daemon supervise-daemon /bin/sleep 100000
peer quits-supervise-daemon supervise-daemon /bin/sh -c "'exit 1'"
# --- OpenRC's floor rows: an init script whose start() does nothing; what
# every start prints (ebegin, eend, as supervise-daemon's does); and those
# with one run of sv-rc that does next to nothing (the status of a service
# that is not started), as sv.NAME's start runs sv-rc (GOMAXPROCS=1, as
# /etc/init.d/supervision runs it) ----------------------------------------
printf '#!/sbin/openrc-run\nstart() { :; }\nstop() { :; }\n' >/etc/init.d/noop
printf '#!/sbin/openrc-run\nstart() { ebegin "Starting x"; eend 0; }\nstop() { :; }\n' >/etc/init.d/messages
printf '#!/sbin/openrc-run\nstart() { ebegin "Starting x"; _out=$(GOMAXPROCS=1 exec %s --backend builtin --root /run/bench-builtin status bench 2>&1); eend 0; }\nstop() { :; }\n' "$BIN/sv-rc" >/etc/init.d/goprog
chmod 755 /etc/init.d/noop /etc/init.d/messages /etc/init.d/goprog

# --- ours: sv.NAME through /etc/init.d/supervision --------------------------
cp "$TREE/rc/supervision" /etc/init.d/supervision
chmod 755 /etc/init.d/supervision
for B in builtin runit s6 daemontools; do
	root=/run/bench-$B
	export SV_ROOT=$root
	mkdir -p "$root/run/sv/service"
	sv-gen add bench -- /bin/sleep 100000 >/dev/null
	sv-gen add quits -- /bin/sh -c 'exit 1' >/dev/null
	printf 'SV_BACKEND=%s\nSV_ROOT=%s\nSV_RC=%s\n' "$B" "$root" "$BIN/sv-rc" >/etc/conf.d/supervision
	rm -f /etc/init.d/sv.*
	sv-gen enable --openrc bench quits >/dev/null
	rc-service supervision start >/dev/null 2>&1 || { echo "error $B: the scanner did not start"; continue; }
	case $B in
	builtin)
		rounds $((5 * REPS)) builtin:sv.bench openrc-supervise-daemon:peer-supervise-daemon \
			openrc-noop:noop openrc-messages:messages openrc-goprog:goprog
		fails openrc-supervise-daemon quits-supervise-daemon
		;;
	daemontools) reps "$B" sv.bench 3 ;;
	*) reps "$B" sv.bench "$REPS" ;;
	esac
	fails "$B" sv.quits
	rc-service supervision stop >/dev/null 2>&1
done
unset SV_ROOT

# --- OpenRC's own backends ---------------------------------------------------
mkdir -p /run/openrc/s6-scan /run/openrc/sv /run/bench-peers
cat >/etc/init.d/s6-svscan <<'EOF'
#!/sbin/openrc-run
command=/usr/bin/s6-svscan
command_args=/run/openrc/s6-scan
command_background=yes
pidfile=/run/s6-svscan.pid
EOF
cat >/etc/init.d/runsvdir <<'EOF'
#!/sbin/openrc-run
command=/usr/bin/runsvdir
command_args="-P /run/openrc/sv"
command_background=yes
pidfile=/run/runsvdir.pid
EOF
for sup in s6 runit; do
	peer "peer-$sup" $sup /bin/sleep 100000
	peer "quits-$sup" $sup /bin/sh -c "'exit 1'"
done
chmod 755 /etc/init.d/s6-svscan /etc/init.d/runsvdir
rc-service s6-svscan start >/dev/null 2>&1
rc-service runsvdir start >/dev/null 2>&1
reps openrc-s6 peer-s6 "$REPS"
fails openrc-s6 quits-s6
reps openrc-runit peer-runit "$REPS" runsv_gone
fails openrc-runit quits-runit

