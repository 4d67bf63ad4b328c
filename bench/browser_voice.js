// Injected by bench/browser_terminal.py into the visitor page, which plays the terminal's part in the
// reference run: the page's microphone speaks the bench's tone bursts (bench/tone_bursts.py), because
// Chromium's fake capture device, which its fake camera needs, also fakes the microphone.
//
// window.benchSpoken: when each burst went into the page's outgoing audio (wall clock, ms), as the audio
// worklet (browser_voice_worklet.js, whose text the bench puts in window.benchVoiceWorklet) saw it rendered.
// A real microphone would add its capture buffer before that: if anything, this favours the browser.
(function () {
  "use strict";
  const BURST_HZ = 1000;
  const BURST_S = 0.1;
  const PERIOD_MS = 1000;
  const PEAK = 0.25;
  const LEAD_S = 0.05; // scheduled this far ahead, so the audio thread never sees it late
  window.benchSpoken = [];
  const capture = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);

  async function burstTrack() {
    const context = new AudioContext({ sampleRate: 48000 });
    const code = new Blob([window.benchVoiceWorklet], { type: "text/javascript" });
    await context.audioWorklet.addModule(URL.createObjectURL(code));
    const tone = context.createOscillator();
    tone.frequency.value = BURST_HZ;
    const gate = context.createGain();
    gate.gain.value = 0;
    const onsets = new AudioWorkletNode(context, "burst-onsets");
    onsets.port.onmessage = (message) => window.benchSpoken.push(message.data);
    const out = context.createMediaStreamDestination();
    tone.connect(gate).connect(onsets).connect(out);
    tone.start();
    setInterval(() => {
      const at = context.currentTime + LEAD_S;
      gate.gain.setValueAtTime(PEAK, at);
      gate.gain.setValueAtTime(0, at + BURST_S);
    }, PERIOD_MS);
    return out.stream.getAudioTracks()[0];
  }

  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await capture(constraints);
    if (constraints && constraints.audio) {
      for (const track of stream.getAudioTracks()) {
        stream.removeTrack(track);
        track.stop();
      }
      stream.addTrack(await burstTrack());
    }
    return stream;
  };
})();
