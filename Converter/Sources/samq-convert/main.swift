print("samq-convert")
