# SPDX-License-Identifier: GPL-2.0-or-later
# /etc/cron.d/mod-kmen: "kmenctl purge" once a day, as root. It deletes expired sessions,
# replay-cache entries, login requests and pending verifications, and with --audit-days
# old audit rows: kmenctl(8), and "Retention: kmenctl purge" in
# /usr/share/doc/mod-kmen-common/docs/operations.md.
#
# It does nothing until /etc/default/mod-kmen sets KMEN_PURGE_CONNINFO.
#
# The second job, "kmenctl sync" every 15 minutes, is for systems without systemd; with
# systemd, mod-kmen-sync.timer runs it instead. It does nothing until KMEN_SYNC_CONNINFO is
# set (journalctl -t kmenctl-sync, or the system log, for its counts). The counts go to
# the system log with the tag kmenctl-purge (journalctl -t kmenctl-purge); a failure's
# message goes to cron's mail to root.
SHELL=/bin/sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin

17 3 * * *	root	if [ -x /usr/bin/kmenctl ] && [ -r /etc/default/mod-kmen ] && . /etc/default/mod-kmen && [ -n "$KMEN_PURGE_CONNINFO" ]; then /usr/bin/kmenctl purge "$KMEN_PURGE_CONNINFO" $KMEN_PURGE_OPTIONS | logger -t kmenctl-purge -p cron.info; fi
*/15 * * * *	root	if [ ! -d /run/systemd/system ] && [ -x /usr/bin/kmenctl ] && [ -r /etc/default/mod-kmen ] && . /etc/default/mod-kmen && [ -n "$KMEN_SYNC_CONNINFO" ]; then /usr/bin/kmenctl sync "$KMEN_SYNC_CONNINFO" $KMEN_SYNC_OPTIONS | logger -t kmenctl-sync -p cron.info; fi
