#!/usr/bin/env bash
# Regenerates the testbed's looping HLS media (committed; run by hand, never by the build).
#
# Every feed/variant is a 6 s loop cut into 3 segments of exactly 2 s (25 fps, GOP = 50 frames,
# so each segment starts with an IDR frame). The picture shows the feed name, the variant label
# and a running clock (the loop's presentation time), so a human sees which feed plays and that
# it moves. Bitrates are low on purpose: the whole directory should stay well under 4 MB.
#
# The testbed embeds these files with include_bytes! and reuses the 3 segments cyclically as the
# live playlists slide (with EXT-X-DISCONTINUITY at each wrap). BANDWIDTH and CODECS in the
# master playlists are computed from these bytes at load time, so regenerating needs no Rust edit
# as long as the layout and the resolutions below stay the same.
#
# Requires ffmpeg with libx264 and the native aac encoder, and fonts-dejavu-core.
set -euo pipefail

cd "$(dirname "$0")"
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
[ -f "$FONT" ] || { echo "missing $FONT (apt-get install fonts-dejavu-core)" >&2; exit 1; }
command -v ffmpeg >/dev/null || { echo "missing ffmpeg (apt-get install ffmpeg)" >&2; exit 1; }

# AES-128 feed: fixed key and IV so regeneration is reproducible (this is test media, not a secret).
AES_KEY_HEX=7069747761616c6c2d746573746265 # 15 bytes, padded below to 16
AES_KEY_HEX="${AES_KEY_HEX}64"
AES_IV_HEX=000102030405060708090a0b0c0d0e0f

# encode FEED VARIANT WIDTH HEIGHT LEVEL COLOR TONE_HZ KIND
# KIND: ts | fmp4 | aes
encode() {
    local feed=$1 variant=$2 w=$3 h=$4 level=$5 color=$6 tone=$7 kind=$8
    local dir="$feed/$variant"
    rm -rf "$dir" && mkdir -p "$dir"
    local vf="drawtext=fontfile=$FONT:text='$feed':fontsize=h/7:fontcolor=white:x=(w-tw)/2:y=h/5,"
    vf+="drawtext=fontfile=$FONT:text='$variant ${w}x${h}':fontsize=h/12:fontcolor=white@0.8:x=(w-tw)/2:y=h/5+h/6,"
    vf+="drawtext=fontfile=$FONT:text='%{pts\\:hms}':fontsize=h/9:fontcolor=yellow:x=(w-tw)/2:y=h*0.62,"
    vf+="drawtext=fontfile=$FONT:text='frame %{n}':fontsize=h/16:fontcolor=white@0.7:x=(w-tw)/2:y=h*0.8"
    local hls=(-f hls -hls_time 2 -hls_list_size 0 -hls_playlist_type vod)
    case $kind in
        ts) hls+=(-hls_segment_filename "$dir/seg-%d.ts") ;;
        fmp4) hls+=(-hls_segment_type fmp4 -hls_fmp4_init_filename init.mp4
                    -hls_segment_filename "$dir/seg-%d.m4s") ;;
        aes)
            printf '%s' "$AES_KEY_HEX" | xxd -r -p > "$feed/key.bin"
            printf 'key.bin\n%s\n%s\n' "$feed/key.bin" "$AES_IV_HEX" > "$dir/keyinfo"
            hls+=(-hls_key_info_file "$dir/keyinfo" -hls_segment_filename "$dir/seg-%d.ts") ;;
    esac
    ffmpeg -nostdin -y -hide_banner -loglevel error \
        -f lavfi -i "color=c=$color:s=${w}x${h}:r=25:d=6" \
        -f lavfi -i "sine=frequency=$tone:sample_rate=48000:duration=6" \
        -vf "$vf" \
        -c:v libx264 -profile:v main -level:v "$level" -preset medium -pix_fmt yuv420p \
        -crf 32 -maxrate 300k -bufsize 600k -g 50 -keyint_min 50 -sc_threshold 0 \
        -c:a aac -b:a 32k -ac 1 -ar 48000 \
        "${hls[@]}" "$dir/playlist.m3u8"
    rm -f "$dir/playlist.m3u8" "$dir/keyinfo"
}

# The four regular feeds: 3 MPEG-TS variants each.
for spec in "main navy 440" "onboard-1 darkgreen 550" "onboard-2 darkred 660" "pitlane indigo 330"; do
    read -r feed color tone <<<"$spec"
    encode "$feed" 360p 640 360 3.0 "$color" "$tone" ts
    encode "$feed" 540p 960 540 3.1 "$color" "$tone" ts
    encode "$feed" 720p 1280 720 3.1 "$color" "$tone" ts
done

# The special feeds: one 360p variant each.
encode fmp4 360p 640 360 3.0 teal 500 fmp4
encode byterange 360p 640 360 3.0 saddlebrown 520 ts
encode aes 360p 640 360 3.0 darkslategray 540 aes
encode redirect 360p 640 360 3.0 darkolivegreen 560 ts
encode gzip 360p 640 360 3.0 maroon 580 ts

du -sh .
