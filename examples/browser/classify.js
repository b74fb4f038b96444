// Classifies the text typed into the page with the model exported next to it:
//   kiln export onnx --model runs/demo/finetune-pretrained/best --out examples/browser/model
// then serve this folder (e.g. `npx http-server examples/browser`) and open it.
import { AutoTokenizer, PreTrainedModel, TextClassificationPipeline, env } from '@huggingface/transformers';

// The model is the folder beside this page, not a Hub id.
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = new URL('./', import.meta.url).pathname; // a path on this server, not a URL

const text = document.getElementById('text');
const button = document.getElementById('classify');
const result = document.getElementById('result');

// PreTrainedModel reads any exported classifier: transformers.js' own text-classification
// auto-classes do not list GPT-2 or Llama classifiers, and Kiln's graph needs nothing model-specific.
const tokenizer = await AutoTokenizer.from_pretrained('model');
const model = await PreTrainedModel.from_pretrained('model', { dtype: 'fp32', device: 'wasm' });
const classify = new TextClassificationPipeline({ task: 'text-classification', model, tokenizer });

button.textContent = 'Classify';
button.disabled = false;
button.addEventListener('click', async () => {
  const [best] = await classify(text.value);
  result.textContent = `${best.label} (${(100 * best.score).toFixed(1)}%)`;
  result.dataset.label = best.label;
  result.dataset.score = String(best.score);
});
