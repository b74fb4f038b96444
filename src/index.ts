/**
 * Kiln: pretrain and fine-tune neural networks from TypeScript on PyTorch's engine.
 * The public API; everything else is internal.
 */
export { Tensor } from './tensor/tensor.js';
export type { Scalar, NestedArray, ValuesIndices, BackwardOptions, ToOptions } from './tensor/tensor.js';
export type { DType, Device, AnyTypedArray } from './tensor/dtype.js';
export {
  tensor,
  zeros,
  ones,
  empty,
  full,
  arange,
  linspace,
  eye,
  rand,
  randn,
  randint,
  randperm,
  zerosLike,
  onesLike,
  emptyLike,
  fullLike,
  randLike,
  randnLike,
  randintLike,
  manualSeed,
  getRngState,
  setRngState,
  withAllocationBudget,
  AllocationBudgetError,
  setDefaultDevice,
  getDefaultDevice,
  withDevice,
  withDeviceAsync,
} from './tensor/creation.js';
export type { TensorOptions } from './tensor/creation.js';
export { cat, stack, where, einsum, addmm, matmul, bmm, maximum, minimum } from './tensor/ops.js';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled, grad, checkpoint } from './tensor/autograd.js';
export { setGradientCheckpointing } from './nn/gradient-checkpointing.js';
export type { GradOptions } from './tensor/autograd.js';
export { deferredReleases, keep, scope } from './tensor/scope.js';
export { gradcheck } from './tensor/gradcheck.js';
export type { GradcheckOptions, GradcheckMismatch } from './tensor/gradcheck.js';
export { setNumThreads, getNumThreads, cudaAvailable, cudaDeviceCount, buildInfo, resolveDevice } from './tensor/runtime.js';
export { autocast, autocastSupported, isAutocastEnabled, PRECISIONS, type Precision } from './tensor/autocast.js';
export { setFusedKernels, setVectorLevel, type VectorLevel } from './tensor/fused.js';
export { profile, type Profile, type ProfileRow } from './tensor/profile.js';
export type { BuildInfo } from './tensor/runtime.js';
export * as F from './nn/functional.js';
export * as nn from './nn/index.js';
export { Module, Parameter, Buffer } from './nn/index.js';
export { TensorDataset, DataLoader, SeededRandom } from './data/index.js';
export type { Dataset, DataLoaderOptions } from './data/index.js';
export * from './optim/index.js';
export * as optim from './optim/index.js';
export * from './io/index.js';
export { CharTokenizer, Gpt2Tokenizer, GPT2_END_OF_TEXT, loadTokenizer, saveTokenizer } from './tokenizers/index.js';
export type {
  Tokenizer,
  TokenizerKind,
  EncodeOptions,
  SpecialTokenRole,
  SpecialTokenRoles,
  CharTokenizerOptions,
  Gpt2TokenizerOptions,
  TokenizerJson,
} from './tokenizers/index.js';
export {
  readTextFile,
  readTextFolder,
  readJsonlTexts,
  readCsvTexts,
  parseCsv,
  readText,
  readTextSources,
  readTextDocuments,
  DOCUMENT_SEPARATOR,
  TextDataError,
  defaultCorpus,
  defaultCorpusDocuments,
  defaultCorpusInfo,
  writeTokenFile,
  readTokenFile,
  readTokenFileHeader,
  splitTokens,
  tokenDtypeFor,
  TokenFileError,
  randomWindows,
  RandomWindowSampler,
  evalWindows,
  EvalWindows,
} from './data/index.js';
export type {
  TextReadOptions,
  CsvOptions,
  CsvRecord,
  DefaultCorpusSource,
  DefaultCorpusOptions,
  DefaultCorpusSourceInfo,
  TokenArray,
  TokenFileHeader,
  ReadTokenFileOptions,
  TokenIds,
  LmBatch,
  WindowOptions,
  RandomWindowsOptions,
  RandomWindowsState,
  EvalWindowsOptions,
} from './data/index.js';
export { GPT, gptConfig, GPT_CONFIG_DEFAULTS } from './models/index.js';
export type { GPTConfig, GenerateOptions } from './models/index.js';
export {
  BertModel,
  BertForMaskedLM,
  BertForSequenceClassification,
  bertConfig,
  BERT_CONFIG_DEFAULTS,
  maskTokens,
  maskedLmLoss,
  IGNORE_INDEX,
} from './models/index.js';
export type {
  BertConfig,
  BertInputs,
  BertOutput,
  BertModelOptions,
  SequenceClassificationOptions,
  MaskTokensOptions,
  MaskedTokens,
} from './models/index.js';
export { Llama, LlamaModel, LlamaDecoderLayer, llamaConfig, LLAMA_CONFIG_DEFAULTS } from './models/index.js';
export type { LlamaConfig } from './models/index.js';
export { Llama2cTokenizer, LLAMA2C_BOS, LLAMA2C_EOS } from './tokenizers/llama2c-tokenizer.js';
export { HfTokenizer, trainByteLevelBpe, DEFAULT_BPE_VOCAB_SIZE } from './tokenizers/index.js';
export type { TrainBpeOptions, DecodeOptions } from './tokenizers/index.js';
export { importLlama2c } from './io/llama2c-import.js';
export type { ImportLlama2cOptions, ImportedModelInfo } from './io/llama2c-import.js';
export type { Llama2cEncodeOptions } from './tokenizers/llama2c-tokenizer.js';
export { pretrainCausalLM, pretrainLanguageModel } from './train/pretrain.js';
export type { PretrainOptions, PretrainResult, PretrainLog } from './train/pretrain.js';
export { resolvePretrainConfig, PRETRAIN_DEFAULTS, parseDuration } from './train/pretrain-config.js';
export type { PretrainConfig, PretrainConfigInput, PretrainSettings, ArchitectureName } from './train/pretrain-config.js';
export { ConfigError } from './train/config-error.js';
export { DiskFullError } from './util/disk-full-error.js';
export { loadCausalLM, loadLanguageModel, generateText } from './train/model-folder.js';
export type { LoadedCausalLM, LoadedLanguageModel, KilnModelInfo } from './train/model-folder.js';
export { SUPPORTED_ARCHITECTURES, languageModelArchitecture } from './train/architectures.js';
export type { CausalLM, LanguageModel, LanguageModelArchitecture, LanguageModelTask } from './train/architectures.js';
export { modelVocabulary } from './train/model-vocabulary.js';
export type { ModelVocabulary, Objective } from './train/model-vocabulary.js';
export { LstmLM, lstmLMConfig, LSTM_LM_CONFIG_DEFAULTS, generateByMasking } from './models/index.js';
export type { LstmLMConfig, MaskedGenerateOptions } from './models/index.js';
export { loadLstmFolder, saveLstmFolder } from './io/kiln-lstm.js';
export { SentenceEncoder, SentenceEncoderLayer, SENTENCE_ENCODER_LITE } from './models/sentence-encoder.js';
export type { SentenceEncoderConfig } from './models/sentence-encoder.js';
export { loadUseLiteTfjs, loadSentenceEncoderFolder, saveSentenceEncoderFolder, useLiteFolder, USE_LITE } from './io/sentence-encoder.js';
export * from './report/index.js';
export {
  initProcessGroup,
  ProcessGroup,
  Store,
  DistributedDataParallel,
  DistributedError,
  availableBackends,
  launchEnv,
  processGroupFromLaunch,
  shardBatch,
} from './distributed/index.js';
export type { Backend, ReduceOp, InitProcessGroupOptions, DistributedDataParallelOptions, LaunchEnv } from './distributed/index.js';
export { finetune } from './finetune/finetune.js';
export type { FinetuneOptions, FinetuneResult } from './finetune/finetune.js';
export { resolveFinetuneConfig, FINETUNE_DEFAULTS } from './finetune/finetune-config.js';
export type { FinetuneConfig, FinetuneConfigInput, FinetuneTask, FinetuneMode } from './finetune/finetune-config.js';
export { runTrainer } from './train/trainer.js';
export { OutOfMemoryError } from './train/out-of-memory.js';
export type { FinetuneLog, LoopHooks as TrainerHooks, LoopResult as TrainerResult, LoopSettings as TrainerSettings, ResumableSampler, SavedRunSettings, StoppedBy } from './train/trainer.js';
export { evaluateModel, predict } from './finetune/evaluate.js';
export { exportOnnx, ONNX_MODEL_FILE, ONNX_QUANTIZED_FILE } from './io/onnx/export.js';
export type { ExportOnnxOptions, ExportOnnxResult } from './io/onnx/export.js';
export type { ClassificationReport, GenerationReport, EvaluateOptions, Prediction } from './finetune/evaluate.js';
export { classificationMetrics, generationMetrics, rougeL, exactMatch } from './finetune/metrics.js';
export type { ClassificationMetrics, ClassScores, GenerationMetrics } from './finetune/metrics.js';
export { readLabelledExamples } from './finetune/labelled-data.js';
export type { LabelledExample } from './finetune/labelled-data.js';
export { SequenceClassifier } from './finetune/classifier.js';
export { loadClassifierFolder } from './finetune/classifier-folder.js';
export type { LoadedClassifier, ClassifierInfo } from './finetune/classifier-folder.js';
export { LoRALinear } from './nn/lora-linear.js';
export type { LoRAOptions } from './nn/lora-linear.js';
export { applyLora, mergeLora, withLoraMerged, saveLoraAdapter, loadLoraAdapter } from './finetune/lora.js';
export type { LoraSettings } from './finetune/lora.js';
export * from './vision/index.js';
