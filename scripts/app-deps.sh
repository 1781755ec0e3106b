#!/usr/bin/env bash
# Install what building and testing the desktop app needs on Debian/Ubuntu,
# if it is missing: WebKitGTK and GTK headers, WebKitWebDriver, Xvfb, a CJK
# font, and Node.js with npm. Does nothing when everything is there.
set -euo pipefail
pkgs=()
pkg-config --exists webkit2gtk-4.1 javascriptcoregtk-4.1 libsoup-3.0 gtk+-3.0 2>/dev/null ||
  pkgs+=(libwebkit2gtk-4.1-dev libjavascriptcoregtk-4.1-dev libsoup-3.0-dev libgtk-3-dev librsvg2-dev pkg-config)
command -v WebKitWebDriver >/dev/null 2>&1 || pkgs+=(webkit2gtk-driver)
command -v Xvfb >/dev/null 2>&1 || pkgs+=(xvfb xauth)
fc-list : family 2>/dev/null | grep -i "cjk" >/dev/null || pkgs+=(fonts-noto-cjk)
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
if [ ${#pkgs[@]} -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "The app needs: ${pkgs[*]} (Debian names). Install them with your package manager." >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "Installing ${pkgs[*]} needs root: run this script as root or install them yourself." >&2
    exit 1
  fi
fi
echo "Installing ${pkgs[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
