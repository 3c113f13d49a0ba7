"""The Gaussian encoder (issue 5): serialization outside the graph, the point network, training, ONNX export."""
