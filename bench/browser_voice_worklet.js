// The audio worklet of bench/browser_voice.js: passes the page's outgoing audio through unchanged and notes,
// on the audio thread, when each tone burst begins. A render quantum goes into the outgoing track as it is
// rendered, so the time it is rendered is the time the burst is spoken into the call.
const LEVEL = 0.03; // as bench/tone_bursts.py's ONSET_LEVEL
const QUIET_BEFORE_S = 0.3;

class BurstOnsets extends AudioWorkletProcessor {
  constructor() {
    super();
    this.quiet = 0;
  }

  process(inputs, outputs) {
    const input = inputs[0][0];
    const output = outputs[0][0];
    if (!input || !output) return true;
    output.set(input);
    for (let i = 0; i < input.length; i++) {
      if (Math.abs(input[i]) > LEVEL) {
        if (this.quiet >= QUIET_BEFORE_S * sampleRate) this.port.postMessage(Date.now());
        this.quiet = 0;
      } else {
        this.quiet += 1;
      }
    }
    return true;
  }
}

registerProcessor("burst-onsets", BurstOnsets);
