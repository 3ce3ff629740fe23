#!/bin/sh
# import.sh HOMEDIR NAME... -- import fixture keys into a GNUPGHOME.
#   NAME       the secret key with its public key (NAME.sec.asc)
#   NAME.pub   the public key only (NAME.pub.asc)
# HOMEDIR is created (mode 0700) if missing. Stop its agent afterwards with
#   gpgconf --homedir HOMEDIR --kill all
set -eu

if [ $# -lt 2 ]; then
	echo "usage: import.sh HOMEDIR NAME..." >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
home=$1
shift
mkdir -p "$home"
chmod 700 "$home"
for name; do
	case $name in
	*.pub) file=$here/${name%.pub}.pub.asc ;;
	*) file=$here/$name.sec.asc ;;
	esac
	if [ ! -r "$file" ]; then
		echo "import.sh: no fixture key '$name' ($file)" >&2
		exit 2
	fi
	set -- "$@" "$file"
done
# "$@" now holds the names followed by the files: keep the files
shift $(( $# / 2 ))
exec gpg --homedir "$home" --batch --quiet --no-tty --no-permission-warning --import "$@"
