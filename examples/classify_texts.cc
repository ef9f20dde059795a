// The smallest program on docquant's C++ API (include/docquant/classifier.h): open a model
// folder, classify the lines of stdin, print each text's label and its probability.
//
//   classify_texts MODEL_FOLDER [ONNX_MODEL] < texts.txt
//
// MODEL_FOLDER is what `docquant quantize` writes; for an fp32 SetFit folder whose ONNX
// export lives elsewhere, pass that .onnx file as ONNX_MODEL.
#include <docquant/classifier.h>
#include <docquant/error.h>

#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::cerr << "usage: " << argv[0] << " MODEL_FOLDER [ONNX_MODEL] < texts.txt\n";
    return 2;
  }
  try {
    docquant::ClassifierOptions options;  // defaults: batch 32, one ORT thread per core
    if (argc == 3) options.onnx_model = argv[2];
    const docquant::Classifier classifier(argv[1], options);

    std::vector<std::string> texts;
    for (std::string line; std::getline(std::cin, line);) texts.push_back(line);

    // One call for labels and probabilities; results come back in input order.
    const docquant::Classification result = classifier.classify(texts);
    for (std::size_t i = 0; i < texts.size(); ++i) {
      std::cout << classifier.classes()[result.label[i]];
      if (classifier.has_probabilities()) {
        std::cout << '\t' << result.proba[i * result.num_classes + result.label[i]];
      }
      std::cout << '\t' << texts[i] << '\n';
    }
  } catch (const docquant::Error& e) {
    std::cerr << "classify_texts: " << e.what() << '\n';
    return docquant::exit_code(e.kind());
  }
  return 0;
}
