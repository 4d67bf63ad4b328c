// Injected by bench/browser_terminal.py into the visitor page, which plays the terminal's part in the
// reference run: it reads the frame stamps (drivers/frame_stamp.py) of every frame the page shows of the
// other side, and of every frame of its own camera, with requestVideoFrameCallback; and what getStats() says
// of what the page received.
//
// window.benchShown:    [counter, sentMs, shownAtMs, decodedAtMs] for each frame of the other side the page showed
//                       (decoded: the last packet's arrival plus the decoding time, as the browser reports them,
//                       without the frame's wait in the jitter buffer, which getStats() gives as a mean;
//                       counter -1 when the codec blurred the stamp beyond reading: the frame still came)
// window.benchCaptured: [counter, capturedAtMs, fromCaptureTime] for each frame of its own camera (wall clock,
//                       ms; fromCaptureTime 1 when Chromium gave the capture time, 0 when it is the time shown)
(function () {
  "use strict";
  const BITS = 32;
  const ROWS = 3;
  const CHECK_KEY = 0x5a3c96e1;
  window.benchShown = [];
  window.benchCaptured = [];

  // Every peer connection the page makes, so that the bench can read what getStats() says they received.
  const peers = [];
  const NativePeerConnection = window.RTCPeerConnection;
  window.RTCPeerConnection = function (...args) {
    const peer = new NativePeerConnection(...args);
    peers.push(peer);
    return peer;
  };
  window.RTCPeerConnection.prototype = NativePeerConnection.prototype;
  Object.setPrototypeOf(window.RTCPeerConnection, NativePeerConnection);

  // Per kind of media received: the mean time in the jitter buffer and, for video, the mean decoding time (ms).
  window.benchReceived = async () => {
    const found = {};
    for (const peer of peers) {
      if (peer.connectionState === "closed") continue;
      (await peer.getStats()).forEach((stats) => {
        if (stats.type !== "inbound-rtp" || !stats.jitterBufferEmittedCount) return;
        found[stats.kind] = {
          jitterBufferMs: (1000 * stats.jitterBufferDelay) / stats.jitterBufferEmittedCount,
          decodeMs: stats.framesDecoded ? (1000 * stats.totalDecodeTime) / stats.framesDecoded : null,
        };
      });
    }
    return found;
  };
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });

  function readStamp(video) {
    const width = video.videoWidth;
    const block = Math.floor(width / BITS);
    const tall = Math.max(8, Math.floor(width / 40)); // as frame_stamp.row_height: the stamp scales with the picture
    if (!width || block < 4) return null;
    canvas.width = width;
    canvas.height = tall * ROWS;
    context.drawImage(video, 0, 0);
    const pixels = context.getImageData(0, 0, width, tall * ROWS).data;
    const words = [];
    for (let row = 0; row < ROWS; row++) {
      let word = 0;
      for (let bit = 0; bit < BITS; bit++) {
        let sum = 0;
        let count = 0;
        const margin = Math.floor(tall / 4);
        for (let y = row * tall + margin; y < (row + 1) * tall - margin; y += 2) {
          for (let x = bit * block + Math.floor(block / 4); x < (bit + 1) * block - Math.floor(block / 4); x += 2) {
            const i = (y * width + x) * 4;
            sum += (pixels[i] + pixels[i + 1] + pixels[i + 2]) / 3;
            count += 1;
          }
        }
        word = ((word << 1) | (sum / count > 127 ? 1 : 0)) >>> 0;
      }
      words.push(word);
    }
    const [counter, sent, check] = words;
    return ((counter ^ sent ^ CHECK_KEY) >>> 0) === check ? [counter, sent] : null;
  }

  function watch(id, record) {
    const video = document.getElementById(id);
    const onFrame = (now, metadata) => {
      if (video.srcObject) record(readStamp(video), metadata);
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }


  document.addEventListener("DOMContentLoaded", () => {
    watch("resident-video", (stamp, metadata) => {
      const decoded =
        metadata.receiveTime && metadata.processingDuration !== undefined
          ? performance.timeOrigin + metadata.receiveTime + 1000 * metadata.processingDuration
          : Date.now();
      window.benchShown.push(stamp ? [stamp[0], stamp[1], Date.now(), decoded] : [-1, 0, Date.now(), decoded]);
    });
    watch("self-view", (stamp, metadata) => {
      if (!stamp) return;
      // captureTime is on the performance clock; a local camera's frames carry it in Chromium.
      const known = metadata.captureTime !== undefined;
      const at = known ? performance.timeOrigin + metadata.captureTime : Date.now();
      window.benchCaptured.push([stamp[0], at, known ? 1 : 0]);
    });
  });
})();
