"""Reference solutions of the exercises, one module per lecture: one way to write each, short and
plain. The checks compare a learner's answer with torch (autograd, softmax, cross-entropy) or with
the package, never with these; they are here to be read after trying, and the tests prove that
each passes its check."""
