/** Images: data (IDX, MNIST, Fashion-MNIST, image folders), augmentation, models, training. */
export { readIdx, decodeIdx, type IdxArray } from './idx.js';
export { ImageDataError } from './image-data-error.js';
export { InMemoryImages, type ImageSource } from './image-source.js';
export { ImageSubset, parseClassList, selectClasses, samplePerClass, splitValidation } from './subsets.js';
export { loadIdxDataset, idxDatasetDir, IDX_NORMALIZATION, FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, type IdxDatasetName, type Split } from './mnist.js';
export { decodeImage, type DecodeOptions } from './decode-image.js';
export { ImageFolder, type ImageFolderOptions, type BadImagePolicy } from './image-folder.js';
export { pixelsToTensor, defaultNormalization, type Normalization } from './normalize.js';
export { augmentPixels, type AugmentOptions } from './augment.js';
export { ImageBatches, type ImageBatch, type ImageBatchOptions } from './image-batches.js';
export { prepareImageData, openImageData, IMAGE_DATA_DEFAULTS, type ImageData, type ImageDataSettings } from './image-data.js';
export { SmallCnn, ConvBlock, SMALL_CNN_DEFAULTS, type SmallCnnConfig } from './models/small-cnn.js';
export { ResNet, BasicBlock, RESNET_DEFAULTS, RESNET_LAYERS, type ResNetConfig } from './models/resnet.js';
export { ViTForImageClassification, ViTModel, ViTLayer, VIT_DEFAULTS, type ViTConfig } from './models/vit.js';
export { IMAGE_ARCHITECTURES, type ImageArchitecture, type ImageClassifier } from './models/image-classifier.js';
export {
  buildImageClassifier,
  saveImageClassifier,
  loadImageClassifier,
  specOf,
  type ImageModelSpec,
  type ImageModelConfig,
  type ImageKilnInfo,
  type LoadedImageClassifier,
} from './image-model-folder.js';
export { evaluateImageClassifier, type ImageEvaluation } from './evaluate-images.js';
export { predictImages, listImageFiles, type ImagePrediction, type PredictOptions } from './predict-images.js';
export {
  runImageClassification,
  resolveImageRunConfig,
  modelSpecFor,
  IMAGE_RUN_DEFAULTS,
  IMAGE_RUN_SCHEMA,
  IMAGE_TRAIN_MODES,
  type ImageRunConfig,
  type ImageRunResult,
  type ImageRunCallbacks,
  type ImageModelSettings,
  type ImageTrainLog,
  type FinetuneMode as ImageTrainMode,
} from './image-run.js';
export { ImageDraws, type LoadedImages, type ImageSamplerState } from './image-draws.js';
export { TinyFaceDetector, SsdMobilenetV1, FaceLandmark68Net, FaceRecognitionNet, faceNetwork, faceNetworkFromTfjs, FACE_ARCHITECTURES, type FaceArchitecture } from './face/face-nets.js';
export {
  detectFacesTiny,
  detectFacesSsd,
  faceLandmarks,
  alignedFaceBox,
  faceDescriptor,
  describeFaces,
  describeDetections,
  descriptorDistance,
  SAME_PERSON_DISTANCE,
  type Box,
  type FaceDetection,
  type DescribedFace,
  type DetectOptions,
} from './face/face-detect.js';
export { readRgbImage, netInput, resizeBilinear, padToSquare, type RgbImage } from './face/face-image.js';
export { saveFaceNetwork, loadFaceNetwork, type FaceNetwork } from './face/face-folder.js';
export { boxIou, suppress } from './boxes.js';
export { digitCanvases, selectDetections, shiftDetections, type LabelledBox, type DetectionImages, type DigitCanvasOptions } from './detection/detection-data.js';
export { readDetectionFiles, type DetectionFileOptions } from './detection/detection-files.js';
export { GridDetector, gridTargets, detectionLoss, GRID_DETECTOR_DEFAULTS, DETECTION_LOSS_WEIGHTS, type GridDetectorConfig, type GridOutputs, type GridTargets } from './detection/grid-detector.js';
export { detectObjects, type DetectedObject, type DetectObjectsOptions } from './detection/detect-objects.js';
export { saveDetector, loadDetector, type DetectorFolderConfig, type LoadedDetector } from './detection/detector-folder.js';
export { averagePrecision, meanAveragePrecision, COCO_IOU_THRESHOLDS, type ScoredDetection, type GroundTruthBox, type MeanAveragePrecision } from './detection/mean-average-precision.js';
export {
  runDetection,
  evaluateDetector,
  evaluateDetectorFolder,
  resolveDetectRunConfig,
  DETECT_RUN_SCHEMA,
  DETECT_RUN_DEFAULTS,
  type DetectRunConfig,
  type DetectRunResult,
  type DetectRunCallbacks,
  type DetectionEvaluation,
} from './detection/detect-run.js';
export { ArcFaceLoss, normalizeRows, embedImages, recognitionScores, type RecognitionScores } from './embedding/metric-learning.js';
export { digitInstances, type DigitInstanceOptions } from './embedding/digit-instances.js';
export {
  runEmbedding,
  scoreEmbedding,
  evaluateEmbeddingFolder,
  resolveEmbedRunConfig,
  EMBED_RUN_SCHEMA,
  EMBED_RUN_DEFAULTS,
  type EmbedRunConfig,
  type EmbedRunResult,
  type EmbedRunCallbacks,
} from './embedding/embed-run.js';
